package audience

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"
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
				require.Equal(t, want, got, "[%v, %v]", b.lo, b.hi)
			}
			pre := lo[:1]
			var got, want []string
			ps.keys.eachFrom(pre, func(k string) bool {
				if len(k) < len(pre) || k[:len(pre)] != pre {
					return false
				}
				if ps.has(k) {
					got = append(got, k)
				}
				return true
			})
			for _, k := range keys {
				if k[:1] == pre {
					want = append(want, k)
				}
			}
			slices.Sort(got)
			require.Equal(t, want, got, "prefix %q", pre)
		}
	}
}
