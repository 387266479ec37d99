package plan

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAttackAffixTrie: random affixes over a small alphabet (deep shared
// paths, nodes past affixScan children with a table) against
// strings.HasPrefix / HasSuffix on random values.
func TestAttackAffixTrie(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	word := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	for round := range 200 {
		alpha := []string{"ab", "abcdefghijklmnopqrstuvwxyz", "\x00\xff\x80a"}[round%3]
		var affs []string
		for range 1 + r.IntN(60) {
			affs = append(affs, word(alpha, r.IntN(6)))
		}
		for _, suffix := range []bool{false, true} {
			var a affixes
			for id, s := range affs {
				a.add(s, int32(id))
			}
			a.freeze(suffix)
			for range 30 {
				v := word(alpha, r.IntN(9))
				memo := make([]uint8, len(affs))
				a.mark(v, suffix, memo)
				for id, s := range affs {
					want := strings.HasPrefix(v, s)
					if suffix {
						want = strings.HasSuffix(v, s)
					}
					if got := memo[id] == decidedTrue; got != want {
						t.Fatalf("suffix %v: %q has %q: %v, want %v", suffix, v, s, got, want)
					}
				}
			}
		}
	}
}

// TestAttackNumberBounds: a field index's gt/gte/lt/lte conditions with
// duplicate bounds, a single bound, ±Inf, -0 and 0, decided for numbers
// around each bound (NaN too) against the comparisons themselves.
func TestAttackNumberBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	pool := []float64{0, math.Copysign(0, -1), 1, 1, -1, 2.5, math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 5e-324}
	for round := range 300 {
		ix := &fieldIndex{}
		type cond struct {
			op    int
			bound float64
		}
		var conds []cond
		for id := range 1 + r.IntN(8) {
			c := cond{r.IntN(4), pool[r.IntN(len(pool))]}
			if round%10 == 0 {
				c.bound = pool[0] // all on one bound
			}
			conds = append(conds, c)
			ix.orders[c.op].add(c.bound, int32(id))
		}
		for k := range ix.orders {
			ix.orders[k].sort()
		}
		ix.placeBounds()
		xs := append([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}, pool...)
		for _, c := range conds {
			xs = append(xs, math.Nextafter(c.bound, math.Inf(1)), math.Nextafter(c.bound, math.Inf(-1)))
		}
		for _, x := range xs {
			memo := make([]uint8, len(conds))
			ix.number(x, memo)
			for id, c := range conds {
				var want bool
				switch c.op {
				case opGT:
					want = x > c.bound
				case opGTE:
					want = x >= c.bound
				case opLT:
					want = x < c.bound
				case opLTE:
					want = x <= c.bound
				}
				if got := memo[id] == decidedTrue; got != want {
					t.Fatalf("op %d bound %v, x %v: %v, want %v", c.op, c.bound, x, got, want)
				}
			}
		}
	}
}
