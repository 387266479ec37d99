package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// TestCapture: WithCapture keeps each named top-level member's raw JSON
// (the first of a repeated key; none for a nested one or a decoded
// contact), whether or not a segment reads it, from ClassifyJSONInto and
// from a stream's lines.
func TestCapture(t *testing.T) {
	segs := []filter.Segment{{ID: "it", Filters: []filter.Filter{filter.Cond("country", "eq", "IT")}},
		{ID: "has-id", Filters: []filter.Filter{filter.CondNoValue("_id", "is_set")}}}
	eng, err := engine.New(segs, segmatch.WithCapture("lead_id", "_id", "id"))
	require.NoError(t, err)
	cases := []struct {
		contact string
		want    [3]string
	}{
		{`{"_id":"a1","country":"IT"}`, [3]string{"", `"a1"`, ""}},
		{`{"lead_id":7,"_id":"x","id":{"n":1}}`, [3]string{"7", `"x"`, `{"n":1}`}},
		{`{"lead_id":"first","lead_id":"second"}`, [3]string{`"first"`, "", ""}},
		{`{"nested":{"lead_id":"no"},"id":-2.5}`, [3]string{"", "", "-2.5"}},
		{`{"lead\u005fid":"escaped"}`, [3]string{`"escaped"`, "", ""}},
		{`{"_id":null}`, [3]string{"", "null", ""}},
		{`{}`, [3]string{}},
	}
	res := eng.NewResult()
	var lines []string
	for _, c := range cases {
		require.NoError(t, eng.ClassifyJSONInto([]byte(c.contact), res))
		for k, want := range c.want {
			assert.Equal(t, want, res.Captured(k), "%s: capture %d", c.contact, k)
		}
		lines = append(lines, c.contact)
	}
	eng.ClassifyMapInto(map[string]any{"_id": "m"}, res)
	assert.Equal(t, "", res.Captured(1), "a decoded contact captures nothing")

	i := 0
	_, err = eng.ClassifyStream(context.Background(), strings.NewReader(strings.Join(lines, "\n")), func(l *engine.Line) error {
		require.NoError(t, l.Err)
		for k, want := range cases[i].want {
			assert.Equal(t, want, l.Result.Captured(k), "line %d: capture %d", l.Number, k)
		}
		i++
		return nil
	}, engine.StreamOptions{Workers: 2, BatchSize: 2})
	require.NoError(t, err)
	assert.Equal(t, len(cases), i)

	plain, err := engine.New(segs)
	require.NoError(t, err)
	r := plain.NewResult()
	require.NoError(t, plain.ClassifyJSONInto([]byte(`{"_id":"a"}`), r))

	_, err = engine.New(segs, segmatch.WithCapture(make([]string, 65)...))
	assert.ErrorIs(t, err, engine.ErrBadOptions)
	_, err = engine.New(segs, segmatch.WithCapture("id", "_id", "id"))
	assert.ErrorIs(t, err, engine.ErrBadOptions)
}
