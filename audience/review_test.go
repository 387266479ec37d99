package audience

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
)

// reviewIndex is an index of n small contacts ("c0", "c1", ...) with the
// given segments registered.
func reviewIndex(t *testing.T, n int, segs ...filter.Segment) *Index {
	t.Helper()
	ix := New(Options{Now: func() time.Time { return randgen.Now }})
	if len(segs) > 0 {
		_, err := ix.SetSegments(segs)
		require.NoError(t, err)
	}
	for i := range n {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"c%d","age":%d,"tags":["t%d"]}`, i, i%50, i%7))
		require.NoError(t, err)
	}
	return ix
}

// TestCompileOnce: SetSegments compiles a segment on its own once when it
// is new or changed (the engine compiles them all, for classifying), and
// not at all when it is unchanged.
func TestCompileOnce(t *testing.T) {
	segs := []filter.Segment{
		{ID: "a", Filters: []filter.Filter{filter.Cond("age", "gt", 10)}},
		{ID: "b", Filters: []filter.Filter{filter.Cond("tags", "contains", "t1")}},
		{ID: "c", Filters: []filter.Filter{filter.Cond("age", "within_last", "3d")}},
	}
	ix := reviewIndex(t, 50)
	before := compiles.Load()
	_, err := ix.SetSegments(segs)
	require.NoError(t, err)
	require.Equal(t, int64(3), compiles.Load()-before, "three new segments")

	before = compiles.Load()
	_, err = ix.SetSegments(segs)
	require.NoError(t, err)
	require.Zero(t, compiles.Load()-before, "nothing changed")

	edited := append([]filter.Segment(nil), segs...)
	edited[1] = filter.Segment{ID: "b", Filters: []filter.Filter{filter.Cond("tags", "contains", "t2")}}
	before = compiles.Load()
	_, err = ix.SetSegments(edited)
	require.NoError(t, err)
	require.Equal(t, int64(1), compiles.Load()-before, "one segment changed")
	n, err := ix.Count("b")
	require.NoError(t, err)
	require.Equal(t, 7, n) // c2, c9, ..., c44

	// Refresh evaluates the kept programs at its clock: no compile.
	before = compiles.Load()
	_, err = ix.Refresh(randgen.Now.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, compiles.Load()-before, "Refresh")
}

// TestStatsReadOnly: Stats does none of the deferred upkeep: after
// upserts the members are still behind, and what they lack is counted
// as pending; the next reader of the members catches them up.
func TestStatsReadOnly(t *testing.T) {
	ix := reviewIndex(t, 40, filter.Segment{ID: "old", Filters: []filter.Filter{filter.Cond("age", "gte", 30)}})
	_, err := ix.Count("old") // caught up
	require.NoError(t, err)
	for i := range 10 {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"c%d","age":45}`, i))
		require.NoError(t, err)
	}
	require.True(t, ix.reg.behind.Load())
	s := ix.Stats()
	require.True(t, ix.reg.behind.Load(), "Stats caught the members up")
	require.Equal(t, 10*(4+8), s.PendingBytes) // no path indexed: the rows of 10 contacts
	require.Positive(t, s.MemberBytes)
	n, err := ix.Count("old")
	require.NoError(t, err)
	require.Equal(t, 10+10, n) // c30..c39, then c0..c9
	require.False(t, ix.reg.behind.Load())
	require.Zero(t, ix.Stats().PendingBytes)
}

// TestPendingBytesBound attacks the pending versions' bound in bytes: a
// few large contacts replaced by small ones, with a path indexed. By
// count alone (max(minDrop, live/3)) the old versions would all be held;
// past max(minDropBytes, raw/3) bytes the paths are dropped instead, and
// answers stay exact.
func TestPendingBytesBound(t *testing.T) {
	defer func(old int) { minDropBytes = old }(minDropBytes)
	minDropBytes = 64 << 10
	ix := reviewIndex(t, 300)
	pad := strings.Repeat("x", 16<<10)
	for i := range 40 {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"big%d","age":%d,"pad":%q}`, i, i, pad))
		require.NoError(t, err)
	}
	older := filter.Segment{Filters: []filter.Filter{filter.Cond("age", "gte", 20)}}
	q, err := ix.Query(older)
	require.NoError(t, err)
	require.Equal(t, 300*30/50+20, q.Count())
	require.Equal(t, 1, ix.Stats().IndexedPaths)
	for i := range 40 {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"big%d","age":1}`, i))
		require.NoError(t, err)
		bound := max(minDropBytes, ix.RawBytes()/dropShare) + len(pad) + 64
		require.LessOrEqual(t, ix.fields.pendingBytes, bound, "after %d replaced", i+1)
	}
	require.Positive(t, ix.fields.drops, "the old versions were never dropped")
	q, err = ix.Query(older)
	require.NoError(t, err)
	require.Equal(t, 300*30/50, q.Count())
}

// TestIndexedPathsBound attacks the field index with ad-hoc queries on
// ever new paths: it keeps at most Options.MaxIndexedPaths of them,
// evicting the least recently used, and answers stay exact (an evicted
// path is indexed again when a query needs it).
func TestIndexedPathsBound(t *testing.T) {
	ix := New(Options{Now: func() time.Time { return randgen.Now }, MaxIndexedPaths: 4})
	for i := range 200 {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"c%d","hot":%d,"f%d":1,"f%d":2}`, i, i%10, i%30, (i+1)%30))
		require.NoError(t, err)
	}
	hot := filter.Segment{Filters: []filter.Filter{filter.Cond("hot", "lt", 3)}}
	for k := range 30 {
		q, err := ix.Query(filter.Segment{Filters: []filter.Filter{filter.Cond(fmt.Sprintf("f%d", k), "gte", 1)}})
		require.NoError(t, err)
		want := 0
		for i := range 200 {
			if i%30 == k || (i+1)%30 == k {
				want++
			}
		}
		require.Equal(t, want, q.Count(), "f%d", k)
		require.LessOrEqual(t, ix.Stats().IndexedPaths, 4, "after %d paths", k+1)
		q, err = ix.Query(hot) // used every time: never the least recent
		require.NoError(t, err)
		require.Equal(t, 60, q.Count())
	}
	require.NotNil(t, ix.fields.built(filter.Path{{Key: "hot", Index: -1}}), "the path used all along was evicted")
	require.GreaterOrEqual(t, ix.fields.evicted, 30-3)
	// A query reading more paths than the bound keeps them all, for its
	// own answer.
	var fs []filter.Filter
	for k := range 6 {
		fs = append(fs, filter.Cond(fmt.Sprintf("f%d", k), "gte", 1))
	}
	q, err := ix.Query(filter.Segment{Match: filter.Any, Filters: fs})
	require.NoError(t, err)
	want := 0
	for i := range 200 {
		if i%30 < 6 || (i+1)%30 < 6 {
			want++
		}
	}
	require.Equal(t, want, q.Count())
	requireCaughtUp(t, ix)
}

// requireAgrees: a set's Contains says of every id what its IDs say.
func requireAgrees(t *testing.T, q *Query, ids ...string) {
	t.Helper()
	listed := q.IDs()
	require.Len(t, listed, q.Count())
	for _, id := range ids {
		require.Equal(t, slices.Contains(listed, id), q.Contains(id), "%s: Contains against IDs %v", id, listed)
	}
}

// TestRemoveUpsertAgain: a removed id upserted again gets a new number
// (it comes last in the index's order) without the numbers growing
// without end: the removed contacts' numbers are reclaimed by
// renumbering. Sets taken at any point keep their members, Contains
// agreeing with IDs, and combine with sets taken after.
func TestRemoveUpsertAgain(t *testing.T) {
	defer func(old int) { minDead = old }(minDead)
	minDead = 8
	older := filter.Segment{ID: "older", Filters: []filter.Filter{filter.Cond("age", "gte", 10)}}
	ix := reviewIndex(t, 20, older)
	names := make([]string, 20)
	for i := range names {
		names[i] = fmt.Sprintf("c%d", i)
	}
	before, err := ix.Segment("older")
	require.NoError(t, err)
	require.Equal(t, 10, before.Count())
	requireAgrees(t, before, names...)

	c15 := []byte(`{"_id":"c15","age":15,"tags":["t1"]}`)
	_, err = ix.Remove("c15")
	require.NoError(t, err)
	_, err = ix.Upsert(c15)
	require.NoError(t, err)
	requireAgrees(t, before, names...) // c15 was in it, and is again
	require.True(t, before.Contains("c15"))
	after, err := ix.Segment("older")
	require.NoError(t, err)
	requireAgrees(t, after, names...)
	ids, _ := after.Slice(0, 100)
	require.Equal(t, "c15", ids[len(ids)-1], "upserted again: last in the index's order")

	young, err := ix.Query(filter.Segment{Filters: []filter.Filter{filter.Cond("age", "lt", 10)}})
	require.NoError(t, err)
	require.Equal(t, 10, young.Count())

	// Many times over: the numbers stay bounded, every set agrees.
	sets := []*Query{before, after, young}
	for k := range 500 {
		id := names[10+k%10]
		_, err := ix.Remove(id)
		require.NoError(t, err)
		if k%50 == 0 {
			q, err := ix.Segment("older")
			require.NoError(t, err)
			sets = append(sets, q)
		}
		_, err = ix.Upsert(fmt.Appendf(nil, `{"_id":%q,"age":%d}`, id, 10+k%10))
		require.NoError(t, err)
		require.LessOrEqual(t, len(ix.ids), 20+max(minDead, 20)+1, "after %d removals", k+1)
	}
	require.Positive(t, ix.renumbers)
	for i, q := range sets {
		requireAgrees(t, q, names...)
		require.Equal(t, q.Count(), len(q.IDs()), "set %d", i)
	}
	now, err := ix.Segment("older")
	require.NoError(t, err)
	require.Equal(t, 10, now.Count())
	requireAgrees(t, now, names...)
	// A set taken before renumbering combines with one taken after: the
	// contacts removed before it are left out of the older one.
	// (before's members have all been removed since; young's never were.)
	require.Zero(t, before.And(now).Count())
	require.Equal(t, now.Count(), now.Or(before).Count())
	all, err := ix.Query(filter.Segment{Filters: []filter.Filter{}})
	require.NoError(t, err)
	requireAgrees(t, young.And(all), names...)
	require.Equal(t, young.IDs(), young.And(all).IDs())
	require.Equal(t, young.IDs(), all.And(young).IDs())
	require.Equal(t, 10, all.AndNot(young).Count())
	page, raws := young.Slice(0, 100)
	require.Len(t, raws, 10)
	require.Equal(t, names[:10], page)
	page, _ = before.Slice(0, 100)
	require.Empty(t, page, "removed since: left out")
	requireMembersCurrent(t, ix)
	requireCaughtUp(t, ix)
	q, err := ix.Query(older)
	require.NoError(t, err)
	require.Equal(t, now.IDs(), q.IDs())
}

// TestRenumberDifferential: random and hostile contacts, registered
// segments and indexed paths, then most contacts removed (some upserted
// again) so that the index renumbers: every answer still equals the
// scan's, and the members equal the rows and the programs.
func TestRenumberDifferential(t *testing.T) {
	defer func(old int) { minDead = old }(minDead)
	minDead = 16
	g := randgen.New(21)
	ix, raws := diffIndex(t, g, 300)
	var segs []filter.Segment
	for i := range 40 {
		s := g.Segment()
		s.ID = fmt.Sprintf("s%d", i)
		segs = append(segs, s)
	}
	_, err := ix.SetSegments(segs)
	require.NoError(t, err)
	checkSegments(t, ix, segs) // indexes their paths
	for round := range 3 {
		ids := slices.Sorted(maps.Keys(raws))
		for i, id := range ids {
			if (i+round)%3 == 0 {
				continue
			}
			_, err := ix.Remove(id)
			require.NoError(t, err)
			if i%4 == 0 { // back, as it was
				_, err := ix.Upsert(raws[id])
				require.NoError(t, err)
			} else {
				delete(raws, id)
			}
		}
		for i := range 150 { // new ones
			c := g.Contact()
			c["_id"] = fmt.Sprintf("r%d-%d", round, i)
			raw, err := json.Marshal(c)
			require.NoError(t, err)
			_, err = ix.Upsert(raw)
			require.NoError(t, err)
			raws[c["_id"].(string)] = raw
		}
		require.Len(t, ix.byID, len(raws))
		requireMembersCurrent(t, ix)
		checkSegments(t, ix, segs)
		requireCaughtUp(t, ix)
	}
	require.Positive(t, ix.renumbers)
}

// TestConcurrentRenumber: readers use sets taken before and after
// renumberings (Contains, IDs, Slice, combinations), Stats and queries,
// while the writer removes and upserts again (go test -race).
func TestConcurrentRenumber(t *testing.T) {
	defer func(old int) { minDead = old }(minDead)
	minDead = 8
	older := filter.Segment{ID: "older", Filters: []filter.Filter{filter.Cond("age", "gte", 25)}}
	ix := reviewIndex(t, 60, older)
	_, err := ix.Query(older) // a path indexed
	require.NoError(t, err)
	var mu sync.Mutex
	sets := []*Query{}
	take := func() {
		q, err := ix.Segment("older")
		require.NoError(t, err)
		mu.Lock()
		sets = append(sets, q)
		mu.Unlock()
	}
	take()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				a, b := sets[(r+i)%len(sets)], sets[len(sets)-1]
				mu.Unlock()
				id := fmt.Sprintf("c%d", (r+i)%60)
				if a.Contains(id) != slices.Contains(a.IDs(), id) {
					t.Errorf("%s: Contains disagrees with IDs", id)
					return
				}
				_, _ = a.Slice(0, 10)
				_ = a.And(b).Count() + a.Or(b).Count() + b.AndNot(a).Count()
				_ = ix.Stats()
				if q, err := ix.Query(older); err == nil {
					_ = q.Count()
				}
			}
		})
	}
	for k := range 400 {
		id := fmt.Sprintf("c%d", 25+k%35)
		_, err := ix.Remove(id)
		require.NoError(t, err)
		_, err = ix.Upsert(fmt.Appendf(nil, `{"_id":%q,"age":%d}`, id, k%50))
		require.NoError(t, err)
		if k%40 == 0 {
			take()
		}
	}
	close(stop)
	wg.Wait()
	require.Positive(t, ix.renumbers)
}

// TestIDView: the id read from the contact's first member, when it is
// read so, is the one idOf reads.
func TestIDView(t *testing.T) {
	ix := New(Options{})
	for _, raw := range []string{
		`{"_id":"a1","x":1}`, ` { "_id" : "a2" }`, `{"_id":"a\"3"}`, `{"_id":"a\\u0034"}`, `{"_id":""}`, `{"_id":"","id":"b"}`,
		`{"_id":5}`, `{"x":1,"_id":"c"}`, `{"_idx":"d","_id":"e"}`, `{"_id":"é\u00e9"}`, `{"_id":"f","_id":"g"}`,
	} {
		got, _ := ix.idView([]byte(raw))
		want, err := ix.idOf([]byte(raw))
		if got == "" {
			continue // idOf decides
		}
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
	}
}
