package audience

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/race"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
)

// requireCaughtUp brings the paths up to date as the next query would,
// then checks that every kept path is ready and equals the same path
// indexed afresh; it returns the number of paths checked.
func requireCaughtUp(t *testing.T, ix *Index) int {
	t.Helper()
	ix.mu.RLock()
	ix.fields.catchUp(ix)
	kept := 0
	for key, p := range ix.fields.paths {
		if p.kept {
			kept++
			require.True(t, p.ready.Load(), "path %q kept but not ready after a catch-up", key)
		}
	}
	require.Empty(t, ix.fields.pending)
	require.False(t, ix.fields.behind.Load())
	ix.mu.RUnlock()
	checkPathsCurrent(t, ix)
	return kept
}

// tiledeskEdit is raw with one top-level field's value replaced by the
// one other holds (or dropped when other has none).
func tiledeskEdit(t *testing.T, raw, other []byte, field string) []byte {
	t.Helper()
	c, o := decodeObject(t, raw), decodeObject(t, other)
	if v, ok := o[field]; ok {
		c[field] = v
	} else {
		delete(c, field)
	}
	return encodeObject(t, c)
}

// TestCatchUp: writes leave the kept paths behind, recorded as pending;
// the next reader brings them up to date, equal to paths built afresh,
// and every answer meanwhile equals the scan's. The changes are every
// kind an upsert makes: another contact under an id, one field edited,
// the same content again, a contact put back to the version the paths
// hold, removals, new contacts, a removed id back, one contact changed
// many times; and a path first indexed while others are behind.
func TestCatchUp(t *testing.T) {
	n, rounds := 1500, 4
	if testing.Short() || race.Enabled {
		n, rounds = 600, 3
	}
	cfg := benchmarks.DefaultConfig
	cfg.Segments = 60
	gen := benchmarks.NewContactGen(cfg)
	ix := New(Options{Now: func() time.Time { return randgen.Now }})
	for range n {
		_, err := ix.Upsert(gen.Next(nil))
		require.NoError(t, err)
	}
	segs := benchmarks.GenerateSegments(cfg)
	checkSegments(t, ix, segs[:20]) // indexes the paths they read
	require.Positive(t, requireCaughtUp(t, ix))
	fields := []string{"country", "tags", "email", "city", "lead_id", "attributes"}
	for round := range rounds {
		ids := append([]string(nil), ix.ids...)
		indexed := map[string][]byte{} // the versions the paths hold
		for i, id := range ids {
			if m, ok := ix.byID[id]; ok {
				indexed[id] = ix.raws[m]
			}
			_ = i
		}
		changed := 0
		for i, id := range ids {
			m, ok := ix.byID[id]
			if !ok {
				continue
			}
			raw := ix.raws[m]
			var next []byte
			switch (i + round) % 11 {
			case 0: // another contact under the id
				next = withID(t, gen.Next(nil), id)
			case 1, 2: // one field edited
				next = tiledeskEdit(t, raw, gen.Next(nil), fields[(i+round)%len(fields)])
			case 3: // the same content
				next = raw
			case 4: // changed, then back to what the paths hold
				_, err := ix.Upsert(withID(t, gen.Next(nil), id))
				require.NoError(t, err)
				next = indexed[id]
			case 5: // changed three times
				for range 2 {
					_, err := ix.Upsert(tiledeskEdit(t, ix.raws[m], gen.Next(nil), "tags"))
					require.NoError(t, err)
				}
				next = withID(t, gen.Next(nil), id)
			case 6:
				if i%3 == 0 {
					_, err := ix.Remove(id)
					require.NoError(t, err)
					changed++
				}
				continue
			default:
				continue
			}
			_, err := ix.Upsert(next)
			require.NoError(t, err)
			changed++
		}
		for i := range 30 {
			_, err := ix.Upsert(withID(t, gen.Next(nil), fmt.Sprintf("new-%d-%d", round, i)))
			require.NoError(t, err)
		}
		// A removed id back, under a new number.
		if round > 0 {
			_, err := ix.Upsert(withID(t, gen.Next(nil), fmt.Sprintf("new-%d-%d", round-1, 0)))
			require.NoError(t, err)
		}
		require.Positive(t, changed)
		require.True(t, ix.fields.behind.Load(), "writes leave the kept paths behind")
		require.NotEmpty(t, ix.fields.pending)
		require.Positive(t, ix.Stats().PendingBytes)
		for _, p := range ix.fields.paths {
			require.False(t, p.kept && p.ready.Load(), "a kept path ready while behind")
		}
		if round%2 == 1 {
			// A query on a path not indexed yet, while the others are
			// behind: the build reads the contacts as they are, after
			// the others are caught up.
			p, err := filter.ParsePath(fmt.Sprintf("attributes.extra_%d", round))
			require.NoError(t, err)
			ix.mu.RLock()
			ix.fields.path(ix, p, nil)
			ix.mu.RUnlock()
		}
		if round%2 == 0 {
			checkSegments(t, ix, segs[20:40]) // a query catches up first
		}
		require.Positive(t, requireCaughtUp(t, ix))
		ix.mu.RLock()
		ix.reg.catchUp() // Stats does not (TestStatsReadOnly): a reader of the members does
		ix.mu.RUnlock()
		require.Zero(t, ix.Stats().PendingBytes)
		checkSegments(t, ix, segs[40:])
	}
	require.Zero(t, ix.fields.drops)
}

// TestDropPending: once more contacts changed since the last catch-up
// than the bound, the paths are dropped (the old versions with them);
// the next queries index their paths again and answer as the scan.
func TestDropPending(t *testing.T) {
	defer func(old int) { minDrop = old }(minDrop)
	minDrop = 50
	cfg := benchmarks.DefaultConfig
	cfg.Segments = 30
	gen := benchmarks.NewContactGen(cfg)
	ix := New(Options{Now: func() time.Time { return randgen.Now }})
	for range 400 {
		_, err := ix.Upsert(gen.Next(nil))
		require.NoError(t, err)
	}
	segs := benchmarks.GenerateSegments(cfg)
	checkSegments(t, ix, segs)
	require.Positive(t, requireCaughtUp(t, ix))
	// 100 changes: under live/3, not dropped.
	for i := range 100 {
		_, err := ix.Upsert(withID(t, gen.Next(nil), ix.ids[i]))
		require.NoError(t, err)
	}
	require.Zero(t, ix.fields.drops)
	require.Len(t, ix.fields.pending, 100)
	// 40 more: dropped.
	for i := 100; i < 140; i++ {
		_, err := ix.Upsert(withID(t, gen.Next(nil), ix.ids[i]))
		require.NoError(t, err)
	}
	require.Equal(t, 1, ix.fields.drops)
	require.Empty(t, ix.fields.paths)
	require.Empty(t, ix.fields.pending)
	require.Zero(t, ix.Stats().PendingBytes)
	for i := 140; i < 160; i++ { // nothing to record: no path kept
		_, err := ix.Remove(ix.ids[i])
		require.NoError(t, err)
	}
	require.Empty(t, ix.fields.pending)
	checkSegments(t, ix, segs)
	require.Positive(t, requireCaughtUp(t, ix))
}

func withID(t *testing.T, raw []byte, id string) []byte {
	t.Helper()
	c := decodeObject(t, raw)
	c["_id"] = id
	return encodeObject(t, c)
}

func decodeObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	return c
}

func encodeObject(t *testing.T, c map[string]any) []byte {
	t.Helper()
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	return raw
}

// requireMembersCurrent: after a catch-up, every registered segment's
// bitmap holds exactly the contacts whose row says they are in it, and
// equals the program's answer over every live contact.
func requireMembersCurrent(t *testing.T, ix *Index) {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r := ix.reg
	r.catchUp()
	require.Empty(t, r.pend)
	for i, bm := range r.members {
		fromRows := roaring.New()
		for n := range ix.ids {
			if int(n)*r.words < len(r.bits) && r.bits[n*r.words+i>>6]&(1<<(i&63)) != 0 {
				fromRows.Add(uint32(n))
			}
		}
		require.True(t, fromRows.Equals(bm), "segment %s: the bitmap is not the rows'", r.keys[i])
		want := scan(ix, ix.live, r.progs[i])
		require.True(t, want.Equals(bm), "segment %s: %d members, the scan finds %d", r.keys[i], bm.GetCardinality(), want.GetCardinality())
	}
	for w, word := range r.pendSet {
		require.Zero(t, word, "pendSet word %d", w)
	}
}

// TestMembersCatchUp: writes change the contacts' rows at once and the
// segments' bitmaps on the next read (or, past minPend pending contacts,
// in the writer); every event is the rows' change, and after any mix of
// reads and writes the bitmaps equal the rows and the scan.
func TestMembersCatchUp(t *testing.T) {
	for _, minP := range []int{minPend, 7} {
		t.Run(fmt.Sprint("minPend=", minP), func(t *testing.T) {
			defer func(old int) { minPend = old }(minPend)
			minPend = minP
			g := randgen.New(11)
			ix := New(Options{Now: func() time.Time { return randgen.Now }})
			var segs []filter.Segment
			for i := range 40 {
				s := g.Segment()
				s.ID = fmt.Sprintf("s%d", i)
				segs = append(segs, s)
			}
			for i := range 300 {
				c := g.Contact()
				c["_id"] = fmt.Sprintf("c%d", i)
				_, err := ix.Upsert(encodeObject(t, c))
				require.NoError(t, err)
			}
			_, err := ix.SetSegments(segs)
			require.NoError(t, err)
			requireMembersCurrent(t, ix)
			counts := map[string]int{} // members by the events
			for _, s := range segs {
				counts[s.ID], _ = ix.Count(s.ID)
			}
			for round := range 6 {
				for i := range 200 {
					id := fmt.Sprintf("c%d", (i*7+round*13)%340)
					var evs []Event
					if i%9 == 4 {
						evs, _ = ix.Remove(id) // unknown ids too
					} else {
						c := g.Contact()
						c["_id"] = id
						evs, err = ix.Upsert(encodeObject(t, c))
						require.NoError(t, err)
					}
					for _, e := range evs {
						if e.Entered {
							counts[e.Segment]++
						} else {
							counts[e.Segment]--
						}
					}
					if round%2 == 1 && i%50 == 0 { // a read between writes
						s := segs[(i+round)%len(segs)].ID
						n, err := ix.Count(s)
						require.NoError(t, err)
						require.Equal(t, counts[s], n, s)
					}
				}
				if round == 3 { // a new segment set: the old members caught up first
					_, err := ix.SetSegments(segs[:30])
					require.NoError(t, err)
					segs = segs[:30]
				}
				requireMembersCurrent(t, ix)
				for _, s := range segs {
					n, err := ix.Count(s.ID)
					require.NoError(t, err)
					require.Equal(t, counts[s.ID], n, s.ID)
				}
			}
		})
	}
}
