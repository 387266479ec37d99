package audience

import (
	"fmt"
	"strings"
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
