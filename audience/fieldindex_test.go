package audience

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/operators"
)

// TestPostingsRandom: a value table under random adds and removes holds
// what a plain map of sets holds, its keys in order through merges and
// stale keys, and ranges and prefixes read exactly the keys they should.
func TestPostingsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, universe := range []int{5, 60, 3000} {
		ps := newPostings[string]()
		ref := map[string]map[uint32]bool{}
		key := func() string { return strconv.Itoa(r.IntN(universe)) }
		for step := range 40000 {
			k, n := key(), uint32(r.IntN(50))
			if r.IntN(3) > 0 {
				ps.add(k, n, false)
				if ref[k] == nil {
					ref[k] = map[uint32]bool{}
				}
				ref[k][n] = true
			} else {
				ps.remove(k, n)
				if ref[k] != nil {
					delete(ref[k], n)
					if len(ref[k]) == 0 {
						delete(ref, k)
					}
				}
			}
			if step%997 != 0 {
				continue
			}
			require.Len(t, ps.m, len(ref))
			seen := map[string]bool{}
			ps.eachLive(func(k string, p posting) {
				require.False(t, seen[k], "eachLive: %s twice", k)
				seen[k] = true
				require.True(t, postingBitmap(p).Equals(postingBitmap(ps.m[k])), "eachLive: %s", k)
			})
			require.Len(t, seen, len(ref), "eachLive")
			for k, set := range ref {
				want := roaring.New()
				for n := range set {
					want.Add(n)
				}
				require.True(t, postingBitmap(ps.m[k]).Equals(want), k)
			}
			// Ranges against a sorted copy of the reference's keys.
			var keys []string
			for k := range ref {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			lo, hi := key(), key()
			if lo > hi {
				lo, hi = hi, lo
			}
			for _, b := range []struct{ lo, hi bound[string] }{
				{bound[string]{true, lo, true}, bound[string]{true, hi, true}},
				{bound[string]{true, lo, false}, bound[string]{true, hi, false}},
				{bound[string]{}, bound[string]{true, hi, false}},
				{bound[string]{true, lo, false}, bound[string]{}},
				{bound[string]{}, bound[string]{}},
			} {
				var got, want []string
				ps.keys.each(b.lo, b.hi, func(k string) {
					if ps.has(k) {
						got = append(got, k)
					}
				})
				for _, k := range keys {
					if b.lo.above(k) && b.hi.below(k) {
						want = append(want, k)
					}
				}
				slices.Sort(got)
				got = slices.Compact(got) // pending may repeat a key
				require.Equal(t, want, got, "[%v, %v]", b.lo, b.hi)
				var out []string
				ps.keys.outside(b.lo, b.hi, func(k string) {
					if ps.has(k) {
						out = append(out, k)
					}
				})
				slices.Sort(out)
				out = slices.Compact(out)
				require.Len(t, out, len(keys)-len(want), "outside [%v, %v]", b.lo, b.hi)
				for _, k := range out {
					require.False(t, b.lo.above(k) && b.hi.below(k), k)
				}
				n := ps.keys.count(b.lo, b.hi)
				require.GreaterOrEqual(t, n, len(want), "count [%v, %v]", b.lo, b.hi)
				require.LessOrEqual(t, n, len(want)+len(ps.keys.keys)-len(keys)+len(ps.keys.pending), "count [%v, %v]", b.lo, b.hi)
				// The postings a range reads beside its keys, and outside it.
				refOf := func(in bool) *roaring.Bitmap {
					bm := roaring.New()
					for k, set := range ref {
						if (b.lo.above(k) && b.hi.below(k)) == in {
							for n := range set {
								bm.Add(n)
							}
						}
					}
					return bm
				}
				var ru, ou union
				ps.rangeInto(&ru, b.lo, b.hi)
				ps.outsideInto(&ou, b.lo, b.hi)
				require.True(t, refOf(true).Equals(ru.result(50)), "rangeInto [%v, %v]", b.lo, b.hi)
				require.True(t, refOf(false).Equals(ou.result(50)), "outsideInto [%v, %v]", b.lo, b.hi)
			}
		}
	}
}

// TestReaderEqualsGetRaw: the one-pass reader reads every path as
// operators.GetRaw does (fan-out, index steps, lengths, repeated and
// escaped keys, paths deeper than the collector goes).
func TestReaderEqualsGetRaw(t *testing.T) {
	fields := []string{"", "#", "name", "email", "age", "tags", "tags.0", "tags.#", "tags.x", "tags.\\0", "orders", "orders.sku",
		"orders.0.sku", "orders.#", "orders.tags", "orders.tags.#", "orders.items.qty", "attributes", "attributes.country",
		"attributes.plan.tier", "attributes.0", "a\\.b", "\\#", "matrix", "matrix.0", "matrix.#", "matrix.x", "country", "n\uFFFDame",
		"d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.x", "d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d", "d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.#"}
	var paths []*pathIndex
	for _, f := range fields {
		p, err := filter.ParsePath(f)
		require.NoError(t, err, f)
		paths = append(paths, newPathIndex(p))
	}
	rd := newReader(paths)
	c := rd.newReading()
	deep := `{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"x":1}},"d":[{"d":{"x":2}}]}}}}}}}}}}}}}}}}}}`
	contacts := append(slices.Clone(hostileContacts), deep, `{"d":{"d":5}}`, `{}`)
	g := randgen.New(5)
	for range 300 {
		raw, _ := json.Marshal(g.Contact())
		contacts = append(contacts, string(raw))
	}
	for _, raw := range contacts {
		c.read([]byte(raw))
		for i, p := range paths {
			want := operators.GetRaw(raw, p.path)
			got := c.value(i)
			require.Equal(t, want.Kind(), got.Kind(), "%s in %s", p.path, raw)
			require.Equal(t, want.Interface(), got.Interface(), "%s in %s", p.path, raw)
			require.Equal(t, want.Len(), got.Len(), "%s in %s", p.path, raw)
		}
	}
}
