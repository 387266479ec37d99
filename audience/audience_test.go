package audience_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// randomIndex is n random contacts (ids "c0"...) and k random segments
// ("s0"...), registered.
func randomIndex(t *testing.T, seed uint64, n, k int) (*audience.Index, [][]byte, []filter.Segment) {
	t.Helper()
	g := randgen.New(seed)
	ix := audience.New(audience.Options{Now: at(randgen.Now)})
	var raws [][]byte
	for i := range n {
		c := g.Contact()
		c["_id"] = fmt.Sprintf("c%d", i)
		raw, err := json.Marshal(c)
		require.NoError(t, err)
		raws = append(raws, raw)
		_, err = ix.Upsert(raw)
		require.NoError(t, err)
	}
	var segs []filter.Segment
	for i := range k {
		s := g.Segment()
		s.ID = fmt.Sprintf("s%d", i)
		segs = append(segs, s)
	}
	_, err := ix.SetSegments(segs)
	require.NoError(t, err)
	return ix, raws, segs
}

// scanMembers is the reference: MatchJSON over every contact.
func scanMembers(t *testing.T, seg filter.Segment, raws [][]byte, now time.Time) []string {
	t.Helper()
	prog, err := segmatch.Compile(seg, segmatch.WithNow(at(now)))
	require.NoError(t, err)
	var out []string
	for _, raw := range raws {
		ok, err := prog.MatchJSON(raw)
		require.NoError(t, err)
		if ok {
			var m struct {
				ID string `json:"_id"`
			}
			require.NoError(t, json.Unmarshal(raw, &m))
			out = append(out, m.ID)
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// TestMembersEqualScan: registered segments' members, and ad-hoc queries,
// equal MatchJSON over every contact, before and after changes.
func TestMembersEqualScan(t *testing.T) {
	ix, raws, segs := randomIndex(t, 1, 400, 60)
	check := func() {
		for _, s := range segs {
			want := scanMembers(t, s, raws, randgen.Now)
			got, err := ix.Members(s.ID)
			require.NoError(t, err)
			require.Equal(t, want, got, "registered %s", s.ID)
			q, err := ix.Query(s)
			require.NoError(t, err)
			require.Equal(t, want, q.IDs(), "query %s", s.ID)
			n, err := ix.Count(s.ID)
			require.NoError(t, err)
			require.Equal(t, len(want), n)
		}
	}
	check()
	// Change a third of the contacts, remove a tenth.
	g := randgen.New(99)
	for i := 0; i < len(raws); i += 3 {
		c := g.Contact()
		c["_id"] = fmt.Sprintf("c%d", i)
		raw, _ := json.Marshal(c)
		raws[i] = raw
		_, err := ix.Upsert(raw)
		require.NoError(t, err)
	}
	var kept [][]byte
	for i, raw := range raws {
		if i%10 == 5 {
			_, err := ix.Remove(fmt.Sprintf("c%d", i))
			require.NoError(t, err)
			continue
		}
		kept = append(kept, raw)
	}
	raws = kept
	check()
}

// TestCasesThroughIndex: every row of the shared case table, its contact
// in an index, through Query and through a registered segment.
func TestCasesThroughIndex(t *testing.T) {
	skipped := 0
	for i, c := range cases.All() {
		// An indexed contact carries its id: rows about the whole contact
		// (the empty path, expr) would see it.
		prog, err := segmatch.Compile(c.Segment)
		require.NoError(t, err)
		if slices.Contains(prog.Fields(), "") || strings.Contains(c.Name, `"expr"`) {
			skipped++
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.Contact), &m))
		m["__audience_id"] = "x"
		raw, _ := json.Marshal(m)
		ix2 := audience.New(audience.Options{Now: at(cases.Now), IDFields: []string{"__audience_id"}})
		_, err = ix2.Upsert(raw)
		require.NoError(t, err, c.Name)
		q, err := ix2.Query(c.Segment)
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Want, q.Count() == 1, "query %d %s", i, c.Name)
		seg := c.Segment
		seg.ID = "s"
		_, err = ix2.SetSegments([]filter.Segment{seg})
		require.NoError(t, err, c.Name)
		in, _ := ix2.Count("s")
		assert.Equal(t, c.Want, in == 1, "registered %d %s", i, c.Name)
	}
	assert.Less(t, skipped, 40, "rows about the whole contact")
}

// TestEvents: upserts and removals report who entered and left, in
// segment order, and the callback sees the same.
func TestEvents(t *testing.T) {
	var seen []audience.Event
	ix := audience.New(audience.Options{OnEvents: func(e []audience.Event) { seen = append(seen, e...) }})
	segs := []filter.Segment{
		{ID: "it", Filters: []filter.Filter{filter.Cond("country", "eq", "IT")}},
		{ID: "vip", Filters: []filter.Filter{filter.Cond("tags", "contains", "vip")}},
	}
	ev, err := ix.SetSegments(segs)
	require.NoError(t, err)
	assert.Empty(t, ev)
	ev, err = ix.Upsert([]byte(`{"_id":"a","country":"IT","tags":["vip"]}`))
	require.NoError(t, err)
	assert.Equal(t, []audience.Event{{"a", "it", true}, {"a", "vip", true}}, ev)
	ev, err = ix.Upsert([]byte(`{"_id":"a","country":"FR","tags":["vip"]}`))
	require.NoError(t, err)
	assert.Equal(t, []audience.Event{{"a", "it", false}}, ev)
	ev, err = ix.Upsert([]byte(`{"lead_id":"b","country":"IT"}`))
	require.NoError(t, err)
	assert.Equal(t, []audience.Event{{"b", "it", true}}, ev)
	ev, err = ix.Remove("a")
	require.NoError(t, err)
	assert.Equal(t, []audience.Event{{"a", "vip", false}}, ev)
	_, err = ix.Remove("a")
	assert.ErrorIs(t, err, audience.ErrNotFound)
	// A segment edited is backfilled alone: its events only.
	segs[1] = filter.Segment{ID: "vip", Filters: []filter.Filter{filter.Cond("country", "eq", "IT")}}
	ev, err = ix.SetSegments(segs)
	require.NoError(t, err)
	assert.Equal(t, []audience.Event{{"b", "vip", true}}, ev)
	assert.Len(t, seen, 6)
}

// TestBadContacts: a contact that is not an object, has no id or is too
// large changes nothing and says why; a stream names the line.
func TestBadContacts(t *testing.T) {
	ix := audience.New(audience.Options{MaxContactBytes: 64})
	_, err := ix.SetSegments([]filter.Segment{{ID: "all", Filters: []filter.Filter{}}})
	require.NoError(t, err)
	_, err = ix.Upsert([]byte(`{"_id":"ok"}`))
	require.NoError(t, err)
	for raw, want := range map[string]error{
		`[1]`:              segmatch.ErrNotObject,
		`{"_id":"x"`:       segmatch.ErrMalformedContact,
		`{"name":"no id"}`: audience.ErrNoID,
		`{"_id":""}`:       audience.ErrNoID,
		`{"_id":"big","pad":"` + strings.Repeat("x", 64) + `"}`: audience.ErrTooLarge,
	} {
		_, err := ix.Upsert([]byte(raw))
		assert.ErrorIs(t, err, want, raw)
		var ce *audience.ContactError
		assert.True(t, errors.As(err, &ce), raw)
	}
	n, err := ix.UpsertStream(strings.NewReader("{\"_id\":\"a\"}\n\n{\"_id\":\"b\"}\n[2]\n{\"_id\":\"c\"}\n"))
	assert.Equal(t, 2, n)
	var ce *audience.ContactError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, 4, ce.Line)
	got, _ := ix.Members("all")
	assert.Equal(t, []string{"a", "b", "ok"}, got, "what was indexed is kept, nothing after the bad line")
}

// TestRefresh: a relative-date segment changes with time alone.
func TestRefresh(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ix := audience.New(audience.Options{Now: at(now)})
	_, err := ix.Upsert([]byte(`{"_id":"a","seen":"2026-11-27T12:00:00Z"}`))
	require.NoError(t, err)
	_, err = ix.SetSegments([]filter.Segment{
		{ID: "recent", Filters: []filter.Filter{filter.Cond("seen", "within_last", "2d")}},
		{ID: "any", Filters: []filter.Filter{}},
	})
	require.NoError(t, err)
	n, _ := ix.Count("recent")
	assert.Equal(t, 1, n)
	ev, err := ix.Refresh(now.Add(48 * time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []audience.Event{{"a", "recent", false}}, ev)
}

// TestCombine: and / or / and-not of audiences, and paging.
func TestCombine(t *testing.T) {
	ix := audience.New(audience.Options{})
	for _, c := range []string{`{"_id":"1","c":"IT","vip":true}`, `{"_id":"2","c":"IT"}`, `{"_id":"3","c":"FR","vip":true}`, `{"_id":"4","c":"IT","vip":true,"mailed":true}`} {
		_, err := ix.Upsert([]byte(c))
		require.NoError(t, err)
	}
	q := func(f filter.Filter) *audience.Query {
		r, err := ix.Query(filter.Segment{Filters: []filter.Filter{f}})
		require.NoError(t, err)
		return r
	}
	it, vip, mailed := q(filter.Cond("c", "eq", "IT")), q(filter.Cond("vip", "eq", true)), q(filter.Cond("mailed", "eq", true))
	assert.Equal(t, []string{"1", "4"}, it.And(vip).IDs())
	assert.Equal(t, []string{"1"}, it.And(vip).AndNot(mailed).IDs())
	assert.Equal(t, 4, it.Or(vip).Count())
	all := it.Or(vip)
	assert.Equal(t, []string{"1", "2"}, all.Page("", 2))
	assert.Equal(t, []string{"3", "4"}, all.Page("2", 2))
	assert.Empty(t, all.Page("4", 2))
}

// TestConcurrentReaders: one writer, many readers (go test -race).
func TestConcurrentReaders(t *testing.T) {
	ix, _, segs := randomIndex(t, 3, 200, 10)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := segs[(r+i)%len(segs)]
				_, _ = ix.Count(s.ID)
				if q, err := ix.Query(s); err == nil {
					_ = q.IDs()
				}
				_ = ix.Stats()
			}
		}()
	}
	g := randgen.New(4)
	for i := range 300 {
		c := g.Contact()
		c["_id"] = fmt.Sprintf("c%d", i%250)
		raw, _ := json.Marshal(c)
		_, err := ix.Upsert(raw)
		require.NoError(t, err)
		if i%50 == 0 {
			_, _ = ix.Remove(fmt.Sprintf("c%d", i/2))
		}
	}
	close(stop)
	wg.Wait()
}
