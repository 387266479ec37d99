package worker_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/worker"
)

func TestParseContact(t *testing.T) {
	good := []struct {
		line string
		want worker.Parsed
	}{
		{`{"_id":"a","_version":3}`, worker.Parsed{ID: "a", Version: 3}},
		{`{"lead_id":42,"_version":0,"x":[1]}`, worker.Parsed{ID: "42", Version: 0}},
		{` {"id":"b","_version":9,"_deleted":true} `, worker.Parsed{ID: "b", Version: 9, Deleted: true}},
		{`{"_id":"","lead_id":"L","_version":1,"_deleted":"yes"}`, worker.Parsed{ID: "L", Version: 1}},
	}
	for _, g := range good {
		got, err := worker.ParseContact([]byte(g.line), nil, "")
		require.NoError(t, err, g.line)
		require.Equal(t, g.want, got, g.line)
	}
	bad := map[string]string{
		`{"_id":"a","_version":3`:      "malformed",
		`[{"_id":"a","_version":3}]`:   "malformed",
		`"x"`:                          "malformed",
		``:                             "malformed",
		`{"_version":3}`:               "no id",
		`{"_id":{"x":1},"_version":3}`: "no id",
		`{"_id":"a"}`:                  "no version",
		`{"_id":"a","_version":"3"}`:   "no version",
		`{"_id":"a","_version":1.5}`:   "bad version",
		`{"_id":"a","_version":-1}`:    "bad version",
		`{"_id":"a","_version":1e3}`:   "bad version",
		`{"_id":"a","_version":99999999999999999999}`:                            "bad version",
		`{"_id":"a","_version":1}` + strings.Repeat(" ", worker.MaxContactBytes): "over 1 MiB",
	}
	for line, want := range bad {
		_, err := worker.ParseContact([]byte(line), nil, "")
		require.ErrorContains(t, err, want, line)
	}
	got, err := worker.ParseContact([]byte(`{"key":"k","rev":7}`), []string{"key"}, "rev")
	require.NoError(t, err)
	require.Equal(t, worker.Parsed{ID: "k", Version: 7}, got)
}

func TestEventMsgID(t *testing.T) {
	e := worker.Event{Project: "p", Contact: "c", Segment: "s", Entered: true, Version: 3, Revision: 10}
	x := e
	x.Entered = false
	r := e
	r.Revision = 11
	require.NotEqual(t, e.MsgID(), x.MsgID(), "an exit is not the enter")
	require.NotEqual(t, e.MsgID(), r.MsgID(), "a segment edit's transition is not the earlier one")
	require.Equal(t, e.MsgID(), worker.Event{Project: "p", Contact: "c", Segment: "s", Entered: true, Version: 3, Revision: 10}.MsgID())
	require.Equal(t, "p|c|3", worker.MsgID("p", "c", 3))
}

// FuzzParseContact: any line is either accepted with an id and a
// version the line holds, or a reason; never a panic. The engine reads
// an accepted line without error.
func FuzzParseContact(f *testing.F) {
	for _, s := range []string{`{"_id":"a","_version":3}`, `{"lead_id":42,"_version":0}`, `{"_id":"a"}`, `[1]`, `{"_id":"\u0000","_version":1,"x":{"y":[1,2,{"z":null}]}}`, `{"_id":"a","_version":1}` + "\n" + `{"b":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := worker.ParseContact(line, nil, "")
		if err != nil {
			return
		}
		if p.ID == "" || p.Version < 0 {
			t.Fatalf("accepted %q as %+v", line, p)
		}
		if _, err := fuzzEngine.ClassifyJSON(line); err != nil {
			t.Fatalf("accepted %q, which the engine rejects: %v", line, err)
		}
	})
}

var fuzzEngine = func() *engine.Engine {
	e, err := engine.New([]filter.Segment{{ID: "s", Filters: []filter.Filter{filter.Cond("x", "=", 1)}}})
	if err != nil {
		panic(err)
	}
	return e
}()
