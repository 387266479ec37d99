package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeNATS: serve --pg --nats answers the lead routes past one
// machine. Leads written through the API go to the contacts stream, a
// `segmatch worker` applies them, and the segment's count, its members
// and each lead are read from the membership tables, looking as they do
// in one process; a segment edit is recomputed by the worker; the event
// stream is the workers' events stream, resumable by id; a preview scans
// the stored contacts.
// Real servers: an embedded nats-server with JetStream and the
// PostgreSQL of .ci/pg (SEGMATCH_PG_DSN).
func TestServeNATS(t *testing.T) {
	const project = "5b55e806c93dde00143163dd"
	st := startNATSStack(t, "serve_nats", project)
	s, werr := st.s, st.werr
	base := "/v3/" + project
	code, seg := s.call(t, "POST", base+"/segments", strings.NewReader(`{"name":"it","filters":[{"field":"country","operator":"=","value":"IT"}]}`))
	require.Equal(t, http.StatusOK, code, seg)
	id := seg["_id"].(string)
	// eventually is the answer of GET path once it satisfies ok.
	eventually := func(path string, ok func(map[string]any) bool) map[string]any {
		t.Helper()
		var out map[string]any
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			var code int
			code, out = s.call(t, "GET", path, nil)
			if code == http.StatusOK && ok(out) {
				return out
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("GET %s: still %v\nworker: %s\nserver: %s", path, out, werr.String(), s.logs())
		return nil
	}
	count := func(n int) func(map[string]any) bool {
		return func(out map[string]any) bool { c, _ := out["count"].(float64); return int(c) == n }
	}

	for i, c := range []string{"IT", "FR", "IT"} {
		code, out := s.call(t, "PUT", base+"/leads/l"+fmt.Sprint(i), strings.NewReader(`{"country":"`+c+`","n":`+fmt.Sprint(i)+`}`))
		require.Equal(t, http.StatusCreated, code, out)
		assert.Equal(t, "l"+fmt.Sprint(i), out["_id"])
	}
	eventually(base+"/segments/"+id+"/count", count(2))
	page := eventually(base+"/segments/"+id+"/leads", count(2))
	require.Len(t, page["leads"], 2)
	first := page["leads"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"_id": "l0", "country": "IT", "n": float64(0)}, first, "a lead as written, without the workers' version")
	lead := eventually(base+"/leads/l1", func(map[string]any) bool { return true })
	assert.Equal(t, "FR", lead["country"])

	// A replaced lead is 200; it moves into the segment.
	code, out := s.call(t, "PUT", base+"/leads/l1", strings.NewReader(`{"country":"IT"}`))
	require.Equal(t, http.StatusOK, code, out)
	eventually(base+"/segments/"+id+"/count", count(3))
	// Deleted: it leaves; an unknown lead is 404.
	code, out = s.call(t, "DELETE", base+"/leads/l0", nil)
	require.Equal(t, http.StatusOK, code, out)
	eventually(base+"/segments/"+id+"/count", count(2))
	code, out = s.call(t, "DELETE", base+"/leads/nobody", nil)
	assert.Equal(t, http.StatusOK, code, out, "sent: a PUT of it may be on its way")
	// A DELETE right after a PUT wins, whichever the workers see first.
	code, out = s.call(t, "PUT", base+"/leads/quick", strings.NewReader(`{"country":"IT"}`))
	require.Equal(t, http.StatusCreated, code, out)
	code, out = s.call(t, "DELETE", base+"/leads/quick", nil)
	require.Equal(t, http.StatusOK, code, out)
	// A pretty-printed lead is sent on one line.
	code, out = s.call(t, "PUT", base+"/leads/pretty", strings.NewReader("{\n  \"country\": \"FR\",\r\n  \"n\": 9\n}"))
	require.Equal(t, http.StatusCreated, code, out)
	lead = eventually(base+"/leads/pretty", func(map[string]any) bool { return true })
	assert.Equal(t, map[string]any{"_id": "pretty", "country": "FR", "n": float64(9)}, lead)
	code, _ = s.call(t, "GET", base+"/leads/quick", nil)
	assert.Equal(t, http.StatusNotFound, code, "the lead deleted right after it was written")

	// Bulk: the version the server sets is refused in a lead, with its line.
	code, out = s.call(t, "POST", base+"/leads/bulk", strings.NewReader(
		`{"_id":"b1","country":"IT"}`+"\n"+`{"_id":"b2","country":"IT","_version":7}`+"\n"+`{"_id":"b3","country":"DE"}`+"\n"))
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 2, out["accepted"])
	assert.EqualValues(t, 1, out["rejected"])
	errs := out["errors"].([]any)
	require.Len(t, errs, 1)
	assert.EqualValues(t, 2, errs[0].(map[string]any)["line"])
	assert.Equal(t, "/_version", errs[0].(map[string]any)["path"])
	eventually(base+"/segments/"+id+"/count", count(3))
	code, out = s.call(t, "PUT", base+"/leads/x", strings.NewReader(`{"_deleted":true}`))
	assert.Equal(t, http.StatusBadRequest, code, out)

	// A segment edit: the worker recomputes it over the stored contacts.
	code, out = s.call(t, "PUT", base+"/segments/"+id, strings.NewReader(`{"name":"de","filters":[{"field":"country","operator":"=","value":"DE"}]}`))
	require.Equal(t, http.StatusOK, code, out)
	page = eventually(base+"/segments/"+id+"/leads", count(1))
	assert.Equal(t, "b3", page["leads"].([]any)[0].(map[string]any)["_id"])

	// The event stream is the workers': live, then resumed from an id.
	sse := func(lastID string) (*bufio.Reader, func()) {
		req, err := http.NewRequest("GET", "http://"+s.addr+base+"/segments/events?segment="+id, nil)
		require.NoError(t, err)
		req.SetBasicAuth("andrea.leo@f21.it", "123456")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		return bufio.NewReader(res.Body), func() { res.Body.Close() }
	}
	// next is the stream's next event of lead: its id, kind and data
	// (the segment edit's recompute may still be sending others).
	next := func(br *bufio.Reader, lead string) (id, kind, data string) {
		for {
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "event: "):
				kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "" && kind != "":
				if strings.Contains(data, `"lead":"`+lead+`"`) {
					return id, kind, data
				}
				id, kind, data = "", "", ""
			}
		}
	}
	br, closeSSE := sse("")
	code, out = s.call(t, "PUT", base+"/leads/e1", strings.NewReader(`{"country":"DE"}`))
	require.Equal(t, http.StatusCreated, code, out)
	eid, kind, data := next(br, "e1")
	assert.Equal(t, "enter", kind)
	assert.JSONEq(t, `{"lead":"e1","segment":"`+id+`","entered":true}`, data)
	require.True(t, strings.HasPrefix(eid, "s-"), eid)
	closeSSE()
	code, out = s.call(t, "DELETE", base+"/leads/e1", nil)
	require.Equal(t, http.StatusOK, code, out)
	br, closeSSE = sse(eid) // resumed: the exit that came after
	_, kind, data = next(br, "e1")
	assert.Equal(t, "exit", kind)
	assert.JSONEq(t, `{"lead":"e1","segment":"`+id+`","entered":false}`, data)
	closeSSE()

	// A preview scans the stored contacts: in SQL when the segment is
	// pushable, through the engine when not (expr), or when a contact is
	// one jsonb cannot hold (a \u0000 in a string).
	preview := func(body string, want ...string) {
		t.Helper()
		code, out := s.call(t, "POST", base+"/segments/preview?limit=1", strings.NewReader(body))
		require.Equal(t, http.StatusOK, code, out)
		assert.EqualValues(t, len(want), out["count"], body)
		require.Len(t, out["leads"], 1, body)
		assert.Equal(t, want[0], out["leads"].([]any)[0].(map[string]any)["_id"], body)
	}
	preview(`{"filters":[{"field":"country","operator":"=","value":"IT"}]}`, "b1", "l1", "l2")
	preview(`{"filters":[{"field":"","operator":"expr","value":"country == 'IT' && n == 2"}]}`, "l2")
	code, out = s.call(t, "PUT", base+"/leads/nul", strings.NewReader(`{"country":"IT","note":"a\u0000b"}`))
	require.Equal(t, http.StatusCreated, code, out)
	eventually(base+"/leads/nul", func(map[string]any) bool { return true })
	preview(`{"filters":[{"field":"country","operator":"=","value":"IT"}]}`, "b1", "l1", "l2", "nul")

	s.stop(t)
}
