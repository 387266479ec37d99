package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/memory"
)

// newLeadFixture is newFixture with the hub's limits set.
func newLeadFixture(t *testing.T, st store.Store, lim leads.Limits) *fixture {
	users, err := auth.ParseUsers(usersFile(t))
	require.NoError(t, err)
	logs := &syncbuf.Buffer{}
	api := httpapi.New(httpapi.Config{Prefix: "/v3", Store: st, LeadLimits: lim,
		Auth:   auth.NewAuthenticator(auth.Config{Users: users, JWTSecret: jwtSecret}),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		st.Close()
	})
	return &fixture{t: t, st: st, api: api, srv: srv, logs: logs}
}

func leadPath(project string, rest ...string) string {
	return "/v3/" + project + "/leads/" + strings.Join(rest, "/")
}

const owner = "owner@f21.it" // owner of p1, agent of p2

const italians = `{"name":"italians","filters":[{"field":"attributes.country","operator":"=","value":"IT"}]}`

func (f *fixture) putLead(user, project, id, body string) resp {
	f.t.Helper()
	return f.do(req{method: "PUT", path: leadPath(project, id), body: body, user: user})
}

func (f *fixture) bulk(user, project, body string) resp {
	f.t.Helper()
	return f.do(req{method: "POST", path: leadPath(project, "bulk"), body: body, ctype: "application/x-ndjson", user: user})
}

func (f *fixture) count(user, project, seg string) int {
	f.t.Helper()
	r := f.as(user, "GET", segPath(project, seg, "count"), "")
	require.Equal(f.t, http.StatusOK, r.status, r.raw)
	return int(r.json["count"].(float64))
}

// memberIDs pages through a segment's members (limit a page).
func (f *fixture) memberIDs(user, project, seg string, limit int) []string {
	f.t.Helper()
	var out []string
	for page := 0; ; page++ {
		r := f.as(user, "GET", segPath(project, seg, "leads")+fmt.Sprintf("?limit=%d&page=%d", limit, page), "")
		require.Equal(f.t, http.StatusOK, r.status, r.raw)
		require.EqualValues(f.t, limit, r.json["perPage"])
		ls := r.json["leads"].([]any)
		for _, l := range ls {
			m := l.(map[string]any)
			id, ok := m["_id"].(string)
			if !ok {
				id = m["lead_id"].(string)
			}
			out = append(out, id)
		}
		if len(ls) < limit {
			return out
		}
	}
}

func TestLeadsAudience(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		seg := f.create(italians)
		for i, c := range []string{"IT", "FR", "IT", "IT", "DE"} {
			r := f.putLead(agent, p1, fmt.Sprintf("L%d", i), fmt.Sprintf(`{"attributes":{"country":%q}}`, c))
			require.Equal(t, http.StatusCreated, r.status, r.raw)
			assert.Equal(t, fmt.Sprintf("L%d", i), r.json["_id"])
		}
		assert.Equal(t, 3, f.count(agent, p1, seg))
		assert.Equal(t, []string{"L0", "L2", "L3"}, f.memberIDs(agent, p1, seg, 2))
		// Replacing a lead keeps its place; it leaves and enters.
		r := f.putLead(agent, p1, "L0", `{"_id":"L0","attributes":{"country":"FR"}}`)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, false, r.json["created"])
		assert.EqualValues(t, 1, r.json["events"])
		f.putLead(agent, p1, "L0", `{"_id":"L0","attributes":{"country":"IT"}}`)
		assert.Equal(t, []string{"L0", "L2", "L3"}, f.memberIDs(agent, p1, seg, 1000))
		// The stored document, with the _id the path gave it.
		r = f.as(agent, "GET", leadPath(p1, "L1"), "")
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.JSONEq(t, `{"_id":"L1","attributes":{"country":"FR"}}`, r.raw)
		// Delete: gone from the members; a second delete is 404.
		r = f.as(agent, "DELETE", leadPath(p1, "L2"), "")
		require.Equal(t, http.StatusOK, r.status, r.raw)
		r = f.as(agent, "DELETE", leadPath(p1, "L2"), "")
		assert.Equal(t, http.StatusNotFound, r.status, r.raw)
		assert.Equal(t, []string{"L0", "L3"}, f.memberIDs(agent, p1, seg, 10))
		// Preview an unsaved segment: its count and first page.
		r = f.as(agent, "POST", segPath(p1, "preview")+"?limit=1", `{"match":"any","filters":[{"field":"attributes.country","operator":"in","value":["FR","DE"]}]}`)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.EqualValues(t, 2, r.json["count"])
		require.Len(t, r.json["leads"], 1)
		assert.Equal(t, "L1", r.json["leads"].([]any)[0].(map[string]any)["_id"])
		// A segment edit through the API backfills it.
		r = f.as(agent, "PUT", segPath(p1, seg), `{"filters":[{"field":"attributes.country","operator":"!=","value":"IT"}]}`)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, []string{"L1", "L4"}, f.memberIDs(agent, p1, seg, 10))
		// A new segment is counted at once; a deleted one is 404.
		de := f.create(`{"name":"de","filters":[{"field":"attributes.country","operator":"=","value":"DE"}]}`)
		assert.Equal(t, 1, f.count(agent, p1, de))
		require.Equal(t, http.StatusOK, f.as(agent, "DELETE", segPath(p1, de), "").status)
		assert.Equal(t, http.StatusNotFound, f.as(agent, "GET", segPath(p1, de, "count"), "").status)
		assert.Equal(t, http.StatusNotFound, f.as(agent, "GET", segPath(p1, "5c81593adf767b0017d1aa66", "leads"), "").status)
	})
}

func TestLeadsBadInput(t *testing.T) {
	f := newLeadFixture(t, newMemory(), leads.Limits{MaxLeadBytes: 100})
	seg := f.create(italians)
	for _, tc := range []struct {
		name, id, body string
		status         int
		path           string
	}{
		{"malformed", "a", `{"x":`, 400, ""},
		{"not an object", "a", `[1]`, 400, ""},
		{"another id", "a", `{"_id":"b"}`, 400, "/_id"},
		{"a bad id", "a", `{"lead_id":true}`, 400, "/lead_id"},
		{"too large", "a", `{"x":"` + strings.Repeat("y", 200) + `"}`, 413, ""},
		{"long path id", strings.Repeat("i", store.MaxLeadIDLen+1), `{}`, 400, ""},
		{"empty body", "a", ` `, 400, ""},
	} {
		r := f.putLead(agent, p1, tc.id, tc.body)
		assert.Equal(t, tc.status, r.status, "%s: %s", tc.name, r.raw)
		assert.Equal(t, false, r.json["success"], tc.name)
		if tc.path != "" {
			require.NotEmpty(t, r.json["errors"], tc.name)
			assert.Equal(t, tc.path, r.json["errors"].([]any)[0].(map[string]any)["path"], tc.name)
		}
	}
	r := f.do(req{method: "PUT", path: leadPath(p1, "a"), body: `{}`, ctype: "text/plain", user: agent})
	assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	for _, q := range []string{"?limit=0", "?limit=abc", "?page=-1", "?limit=1001"} {
		assert.Equal(t, http.StatusBadRequest, f.as(agent, "GET", segPath(p1, seg, "leads")+q, "").status, q)
	}
	r = f.as(agent, "POST", segPath(p1, "preview"), `{"filters":[{"field":"x","operator":"nope","value":1}]}`)
	require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	assert.Equal(t, "/filters/0/operator", r.json["errors"].([]any)[0].(map[string]any)["path"])
	assert.Equal(t, http.StatusMethodNotAllowed, f.as(agent, "GET", segPath(p1, "preview"), "").status)
	assert.Equal(t, http.StatusMethodNotAllowed, f.as(agent, "POST", segPath(p1, seg, "count"), "").status)
	assert.Equal(t, 0, f.count(agent, p1, seg))
}

func TestLeadsBulk(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		seg := f.create(italians)
		var b strings.Builder
		for i := range 2500 {
			switch {
			case i == 10:
				b.WriteString("{broken\n")
			case i == 20:
				b.WriteString(`{"name":"no id"}` + "\n")
			case i == 30:
				b.WriteString("\n") // blank: skipped, still a line
			default:
				fmt.Fprintf(&b, `{"lead_id":"b%04d","attributes":{"country":%q}}`+"\r\n", i, []string{"IT", "FR"}[i%2])
			}
		}
		r := f.bulk(agent, p1, b.String())
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.EqualValues(t, 2497, r.json["accepted"])
		assert.EqualValues(t, 2, r.json["rejected"])
		errs := r.json["errors"].([]any)
		require.Len(t, errs, 2)
		assert.EqualValues(t, 11, errs[0].(map[string]any)["line"])
		assert.Contains(t, errs[0].(map[string]any)["message"], "malformed JSON at byte")
		assert.EqualValues(t, 21, errs[1].(map[string]any)["line"])
		assert.Equal(t, "/_id", errs[1].(map[string]any)["path"])
		assert.Equal(t, 1247, f.count(agent, p1, seg)) // even lines but 10, 20 and 30
		ids := f.memberIDs(agent, p1, seg, 1000)
		assert.Equal(t, "b0000", ids[0])
		assert.Equal(t, "b2498", ids[len(ids)-1])
		r = f.do(req{method: "POST", path: leadPath(p1, "bulk"), body: "{}", ctype: "application/xml", user: agent})
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	})
}

func TestLeadsLimits(t *testing.T) {
	f := newLeadFixture(t, newMemory(), leads.Limits{MaxLeadBytes: 200, MaxBulkLeads: 5, MaxProjectLeads: 7})
	seg := f.create(`{"name":"all","filters":[]}`)
	lines := func(from, n int) string {
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "{\"_id\":\"l%d\"}\n", i)
		}
		return b.String()
	}
	// More than MaxBulkLeads: the first five applied, then 400.
	r := f.bulk(agent, p1, lines(0, 6))
	require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	assert.EqualValues(t, 5, r.json["accepted"])
	assert.EqualValues(t, 6, r.json["errors"].([]any)[0].(map[string]any)["line"])
	assert.Equal(t, 5, f.count(agent, p1, seg))
	// A line over MaxLeadBytes is rejected, the others applied.
	r = f.bulk(agent, p1, "{\"_id\":\"big\",\"x\":\""+strings.Repeat("y", 300)+"\"}\n"+lines(5, 1))
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 1, r.json["accepted"])
	assert.Contains(t, r.json["errors"].([]any)[0].(map[string]any)["message"], "lead too large")
	// The project's limit: 7 leads. Replacing one still works.
	r = f.bulk(agent, p1, lines(6, 3))
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 1, r.json["accepted"])
	assert.EqualValues(t, 2, r.json["rejected"])
	assert.EqualValues(t, 2, r.json["errors"].([]any)[0].(map[string]any)["line"])
	// a small lead followed by spaces and junk past the limit: refused
	// whole, not read up to the limit and accepted
	r = f.putLead(agent, p1, "l6", `{}`+strings.Repeat(" ", 300)+"junk")
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, r.raw)
	r = f.putLead(agent, p1, "l99", `{}`)
	assert.Equal(t, http.StatusConflict, r.status, r.raw)
	assert.Equal(t, http.StatusOK, f.putLead(agent, p1, "l1", `{"v":2}`).status)
	assert.Equal(t, 7, f.count(agent, p1, seg))
	require.Equal(t, http.StatusOK, f.as(agent, "DELETE", leadPath(p1, "l1"), "").status)
	assert.Equal(t, http.StatusCreated, f.putLead(agent, p1, "l99", `{}`).status)
}

// TestLeadsByteAndStreamLimits: a project's leads are bounded in bytes
// (MaxProjectBytes: 409, in a bulk request a rejected line) and its event
// streams in number (MaxStreams: 429).
func TestLeadsByteAndStreamLimits(t *testing.T) {
	f := newLeadFixture(t, newMemory(), leads.Limits{MaxProjectBytes: 100, MaxStreams: 1})
	seg := f.create(`{"name":"all","filters":[]}`)
	pad := strings.Repeat("x", 30)
	assert.Equal(t, http.StatusCreated, f.putLead(agent, p1, "a", `{"p":"`+pad+`"}`).status)
	assert.Equal(t, http.StatusCreated, f.putLead(agent, p1, "b", `{"p":"`+pad+`"}`).status)
	r := f.putLead(agent, p1, "c", `{"p":"`+pad+`"}`)
	assert.Equal(t, http.StatusConflict, r.status, r.raw)
	r = f.bulk(agent, p1, `{"_id":"d","p":"`+pad+`"}`+"\n")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 0, r.json["accepted"])
	assert.EqualValues(t, 1, r.json["rejected"])
	assert.Equal(t, 2, f.count(agent, p1, seg))

	ev := f.stream(agent, p1, "")
	defer ev.cancel()
	r = f.as(agent, "GET", segPath(p1, "events"), "")
	assert.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
}

// TestLeadsIsolation: two projects holding the same lead ids: no lead,
// count, member or event of one is visible to the other.
func TestLeadsIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		s1 := f.create(italians)
		r := f.as(owner, "POST", segPath(p2), italians)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		s2 := r.json["_id"].(string)
		ev1 := f.stream(owner, p1, "")
		ev2 := f.stream(owner, p2, "")
		f.putLead(owner, p1, "same", `{"attributes":{"country":"IT"},"secret":"p1"}`)
		f.putLead(owner, p1, "only1", `{"attributes":{"country":"IT"}}`)
		f.bulk(owner, p2, `{"_id":"same","attributes":{"country":"FR"},"secret":"p2"}`+"\n")
		assert.Equal(t, 2, f.count(owner, p1, s1))
		assert.Equal(t, 0, f.count(owner, p2, s2))
		// Another project's segment is not found, whatever the route.
		for _, path := range []string{segPath(p2, s1, "count"), segPath(p2, s1, "leads"), segPath(p2, "events") + "?segment=" + s1} {
			assert.Equal(t, http.StatusNotFound, f.as(owner, "GET", path, "").status, path)
		}
		assert.Equal(t, http.StatusNotFound, f.as(owner, "GET", leadPath(p2, "only1"), "").status)
		assert.Equal(t, http.StatusNotFound, f.as(owner, "DELETE", leadPath(p2, "only1"), "").status)
		r = f.as(owner, "GET", leadPath(p2, "same"), "")
		assert.Contains(t, r.raw, `"p2"`)
		r = f.as(owner, "POST", segPath(p2, "preview"), `{"filters":[{"field":"secret","operator":"is_set"}]}`)
		assert.EqualValues(t, 1, r.json["count"], r.raw)
		assert.NotContains(t, r.raw, `"p1"`)
		// An agent of p2 only may not touch p1's leads.
		assert.Equal(t, http.StatusForbidden, f.putLead("out@f21.it", p1, "x", `{}`).status)
		assert.Equal(t, http.StatusForbidden, f.as("out@f21.it", "GET", segPath(p1, "events"), "").status)
		// Events: p1's stream has p1's two entries, p2's nothing.
		got := ev1.next(t, 2)
		assert.Equal(t, []string{"enter same " + s1, "enter only1 " + s1}, got)
		f.putLead(owner, p2, "same", `{"attributes":{"country":"IT"}}`)
		assert.Equal(t, []string{"enter same " + s2}, ev2.next(t, 1))
		ev1.none(t)
	})
}

// sse is a client of the events stream.
type sse struct {
	cancel context.CancelFunc
	events chan sseEv
}

type sseEv struct {
	id, kind string
	data     map[string]any
}

func (e sseEv) String() string {
	return fmt.Sprintf("%s %v %v", e.kind, e.data["lead"], e.data["segment"])
}

// stream connects to the project's events (with Last-Event-ID when
// last is set) and parses them as they come.
func (f *fixture) stream(user, project, last string, query ...string) *sse {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	path := segPath(project, "events")
	if len(query) > 0 {
		path += "?" + query[0]
	}
	hr, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
	require.NoError(f.t, err)
	hr.SetBasicAuth(user, password)
	if last != "" {
		hr.Header.Set("Last-Event-ID", last)
	}
	res, err := f.srv.Client().Do(hr)
	require.NoError(f.t, err)
	require.Equal(f.t, http.StatusOK, res.StatusCode)
	require.Equal(f.t, "text/event-stream", res.Header.Get("Content-Type"))
	s := &sse{cancel: cancel, events: make(chan sseEv, 100000)}
	f.t.Cleanup(func() { cancel(); res.Body.Close() })
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEv
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.kind != "" {
					s.events <- ev
				}
				ev = sseEv{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.data)
			}
		}
	}()
	return s
}

// nextEv waits for the next event.
func (s *sse) nextEv(t *testing.T) sseEv {
	t.Helper()
	select {
	case e, ok := <-s.events:
		require.True(t, ok, "the stream ended")
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	panic("unreachable")
}

func (s *sse) next(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		out = append(out, s.nextEv(t).String())
	}
	return out
}

func (s *sse) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected event %v", e)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestLeadsEvents(t *testing.T) {
	f := newLeadFixture(t, newMemory(), leads.Limits{EventWindow: 5})
	seg := f.create(italians)
	ev := f.stream(agent, p1, "")
	only := f.stream(agent, p1, "", "segment="+seg)
	f.putLead(agent, p1, "a", `{"attributes":{"country":"IT"}}`)
	e := ev.nextEv(t)
	assert.Equal(t, "enter a "+seg, e.String())
	assert.Equal(t, true, e.data["entered"])
	first := e.id
	f.putLead(agent, p1, "a", `{"attributes":{"country":"FR"}}`)
	f.bulk(agent, p1, `{"_id":"b","attributes":{"country":"IT"}}`+"\n"+`{"_id":"c","attributes":{"country":"IT"}}`+"\n")
	require.Equal(t, http.StatusOK, f.as(agent, "DELETE", leadPath(p1, "b"), "").status)
	assert.Equal(t, []string{"exit a " + seg, "enter b " + seg, "enter c " + seg, "exit b " + seg}, ev.next(t, 4))
	// A segment edit: its backfill's events.
	require.Equal(t, http.StatusOK, f.as(agent, "PUT", segPath(p1, seg), `{"filters":[{"field":"attributes.country","operator":"=","value":"FR"}]}`).status)
	assert.Equal(t, []string{"enter a " + seg, "exit c " + seg}, ev.next(t, 2))
	// A segment created: its members enter; the filtered stream has only seg's.
	other := f.create(`{"name":"all","filters":[]}`)
	assert.Equal(t, []string{"enter a " + other, "enter c " + other}, ev.next(t, 2))
	assert.Len(t, only.next(t, 7), 7)
	only.none(t)

	// Resume after the first event: the window (5) lost the one after it.
	r := f.stream(agent, p1, first)
	assert.Equal(t, "reset", r.nextEv(t).kind)
	// Resume within the window: exactly the events after the id.
	all := []string{"exit b " + seg, "enter a " + seg, "exit c " + seg, "enter a " + other, "enter c " + other}
	_ = all
	third := f.stream(agent, p1, first[:strings.IndexByte(first, '-')]+"-6")
	assert.Equal(t, []string{"exit c " + seg, "enter a " + other, "enter c " + other}, third.next(t, 3))
	third.none(t)
	// An id of another run, or not an id: reset.
	assert.Equal(t, "reset", f.stream(agent, p1, "zzz-3").nextEv(t).kind)
	assert.Equal(t, "reset", f.stream(agent, p1, "junk").nextEv(t).kind)
	// Resumed with ?last_event_id= too (curl).
	q := f.stream(agent, p1, "", "last_event_id="+first[:strings.IndexByte(first, '-')]+"-8")
	assert.Equal(t, []string{"enter c " + other}, q.next(t, 1))
}

// TestLeadsSlowClient: a client that reads nothing is disconnected;
// writers never wait for it.
func TestLeadsSlowClient(t *testing.T) {
	f := newLeadFixture(t, newMemory(), leads.Limits{StreamQueue: 4})
	f.create(`{"name":"all","filters":[]}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+segPath(p1, "events"), nil)
	hr.SetBasicAuth(agent, password)
	res, err := f.srv.Client().Do(hr)
	require.NoError(t, err)
	defer res.Body.Close()
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "{\"_id\":\"lead-%06d\",\"pad\":%q}\n", i, strings.Repeat("p", 100))
	}
	start := time.Now()
	r := f.bulk(agent, p1, b.String())
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Less(t, time.Since(start), 20*time.Second)
	// The stream was ended: reading it reaches its end (an overflow
	// event last), far short of 20,000 events.
	sc := bufio.NewScanner(res.Body)
	n, overflow := 0, false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "event: enter") {
			n++
		}
		overflow = overflow || sc.Text() == "event: overflow"
	}
	assert.Less(t, n, 20000)
	t.Logf("the slow client got %d events before it was disconnected (overflow event: %v)", n, overflow)
	st, err := f.api.Leads().Stats(t.Context(), p1)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Streams)
}

// TestLeadsRestart: the index is rebuilt from the store, members in the
// same order.
func TestLeadsRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "segmatch.db")
	st, err := bolt.Open(path)
	require.NoError(t, err)
	f := newLeadFixture(t, st, leads.Limits{})
	seg := f.create(italians)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, `{"_id":"z%03d","attributes":{"country":"IT"}}`+"\n", 299-i)
	}
	require.Equal(t, http.StatusOK, f.bulk(agent, p1, b.String()).status)
	f.putLead(agent, p1, "z150", `{"attributes":{"country":"FR"}}`)
	f.putLead(agent, p1, "z150", `{"attributes":{"country":"IT"}}`)
	before := f.memberIDs(agent, p1, seg, 7)
	require.Len(t, before, 300)
	f.srv.Close()
	require.NoError(t, f.api.Close())
	require.NoError(t, st.Close())

	st2, err := bolt.Open(path)
	require.NoError(t, err)
	g := newLeadFixture(t, st2, leads.Limits{})
	require.NoError(t, g.api.Leads().Warm(t.Context()))
	assert.Equal(t, 300, g.count(agent, p1, seg))
	assert.Equal(t, before, g.memberIDs(agent, p1, seg, 7))
}

func newMemory() store.Store { return memory.New() }
