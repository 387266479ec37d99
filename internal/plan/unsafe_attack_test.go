package plan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// The attack tests of the unsafe combining (combine.go) and the field
// indexes (fieldindex.go, affix.go, strindex.go): many segment sets of
// every shape, each contact decided by the Set and by one Program per
// segment, which share no evaluation path past the operators.

var attackNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type attackGen struct{ r *rand.Rand }

var attackFields = []string{"a", "b", "n", "s", "arr", "o.x"}

// a small pool of values, so that conditions repeat (shared ids, field
// indexes with many conditions, duplicate bounds)
var attackStrs = []string{"", "a", "ab", "abc", "IT", "it", "São", "b", "zz", "é\u0301", "1", "2.5", "-0", "x\"y", `back\slash`}
var attackNums = []any{0, -0.0, 1, 2.5, -3, 1e308, -1e308, 5e-324, 7, 7, 42}

func (g attackGen) value(op string) any {
	switch op {
	case "gt", "gte", "lt", "lte":
		if g.r.IntN(8) == 0 {
			return attackStrs[g.r.IntN(len(attackStrs))] // a string bound: decided alone
		}
		return attackNums[g.r.IntN(len(attackNums))]
	case "in", "not_in":
		var l []any
		for range g.r.IntN(4) + 1 {
			if g.r.IntN(3) == 0 {
				l = append(l, attackNums[g.r.IntN(len(attackNums))])
			} else {
				l = append(l, attackStrs[g.r.IntN(len(attackStrs))])
			}
		}
		return l
	case "eq", "ne":
		switch g.r.IntN(5) {
		case 0:
			return attackNums[g.r.IntN(len(attackNums))]
		case 1:
			return g.r.IntN(2) == 0
		}
	case "starts_with", "ends_with":
		if g.r.IntN(4) == 0 { // many affixes on a field: a node with a table
			return string(rune('a'+g.r.IntN(26))) + attackStrs[g.r.IntN(len(attackStrs))]
		}
	}
	return attackStrs[g.r.IntN(len(attackStrs))]
}

var attackOps = []string{"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "starts_with", "ends_with", "contains", "not_contains", "is_set"}

func (g attackGen) cond() filter.Filter {
	op := attackOps[g.r.IntN(len(attackOps))]
	f := attackFields[g.r.IntN(len(attackFields))]
	var c filter.Filter
	if op == "is_set" {
		c = filter.CondNoValue(f, op)
	} else {
		c = filter.Cond(f, op, g.value(op))
	}
	c.Negate = g.r.IntN(6) == 0
	c.IgnoreCase = g.r.IntN(20) == 0
	return c
}

func (g attackGen) match() filter.Match {
	if g.r.IntN(2) == 0 {
		return filter.Any
	}
	return filter.All
}

// segment has k filters; nested (chance 1/n) puts a group among them.
func (g attackGen) segment(id, k int, nested int) filter.Segment {
	s := filter.Segment{ID: fmt.Sprint(id), Match: g.match()}
	for range k {
		if nested > 0 && g.r.IntN(nested) == 0 {
			grp := filter.Group(g.match(), g.cond(), g.cond())
			if g.r.IntN(4) == 0 {
				grp.Filters = nil // an empty group
			}
			grp.Negate = g.r.IntN(3) == 0
			s.Filters = append(s.Filters, grp)
			continue
		}
		s.Filters = append(s.Filters, g.cond())
	}
	return s
}

func (g attackGen) scalar() any {
	switch g.r.IntN(7) {
	case 0:
		return attackNums[g.r.IntN(len(attackNums))]
	case 1:
		return json.RawMessage([]string{"1e400", "-1e400", "-0", "0.0", "7.0", "2.50", "1e308"}[g.r.IntN(7)]) // ±Inf, -0
	case 2:
		return g.r.IntN(2) == 0
	case 3:
		return nil
	case 4:
		return strings.Repeat(attackStrs[g.r.IntN(len(attackStrs))], g.r.IntN(3)+1)
	}
	return attackStrs[g.r.IntN(len(attackStrs))]
}

func (g attackGen) contact() []byte {
	m := map[string]any{}
	for _, f := range []string{"a", "b", "n", "s"} {
		if g.r.IntN(5) != 0 {
			m[f] = g.scalar()
		}
	}
	if g.r.IntN(3) != 0 {
		var l []any
		for range g.r.IntN(4) {
			l = append(l, g.scalar())
		}
		m["arr"] = l
	}
	if g.r.IntN(3) != 0 {
		m["o"] = map[string]any{"x": g.scalar()}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// checkSet compares the Set with the Programs on n contacts.
func checkSet(t *testing.T, g attackGen, segs []filter.Segment, contacts int) {
	t.Helper()
	now := func() time.Time { return attackNow }
	set, err := CompileSet(segs, now)
	if err != nil {
		t.Fatal(err)
	}
	progs := make([]*Program, len(segs))
	for i, s := range segs {
		if progs[i], err = Compile(s, now); err != nil {
			t.Fatal(err)
		}
	}
	sc := set.NewScratch()
	dst := make([]bool, set.Len())
	for range contacts {
		raw := g.contact()
		for i := range dst {
			dst[i] = g.r.IntN(2) == 0 // stale verdicts must be overwritten
		}
		if err := set.MatchJSON(raw, attackNow, dst, sc); err != nil {
			t.Fatal(err)
		}
		mdst := make([]bool, set.Len())
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil { // not beyond float64's range
			set.Match(m, attackNow, mdst, nil)
		} else {
			copy(mdst, dst)
		}
		for i, p := range progs {
			want, err := p.MatchJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			if dst[i] != want || mdst[i] != want {
				js, _ := json.Marshal(segs[i])
				t.Fatalf("%d segments: segment %d %s on %s: set %v (map %v), program %v", len(segs), i, js, raw, dst[i], mdst[i], want)
			}
		}
	}
}

// TestAttackCombineShapes: sets of 1 to 130 segments (both sides of the
// eager threshold) whose segments all have k conditions (0 to 7: the
// unrolled sizes and the loop), flat or with nested groups, positive or
// with negations, all or any.
func TestAttackCombineShapes(t *testing.T) {
	attackShapes(t, rand.New(rand.NewPCG(1, 2)), []int{1, 2, eagerFrom - 1, eagerFrom, eagerFrom + 1, 130}, []int{0, 1, 2, 3, 4, 5, 6, 7})
}

// TestAttackCombineLong: segments of 13 and 100 conditions.
func TestAttackCombineLong(t *testing.T) {
	attackShapes(t, rand.New(rand.NewPCG(9, 10)), []int{1, eagerFrom - 1, eagerFrom}, []int{13, 100})
}

func attackShapes(t *testing.T, r *rand.Rand, ns, ks []int) {
	g := attackGen{r}
	for _, n := range ns {
		for _, k := range ks {
			for _, nested := range []int{0, 3} {
				contacts := 10
				if n*k > 500 {
					contacts = 3
				}
				var segs []filter.Segment
				for i := range n {
					segs = append(segs, g.segment(i, k, nested))
				}
				checkSet(t, g, segs, contacts)
			}
		}
	}
}

// TestAttackCombineMixed: sizes, shapes and nesting mixed in one set,
// duplicated segments and conditions.
func TestAttackCombineMixed(t *testing.T) {
	g := attackGen{rand.New(rand.NewPCG(3, 4))}
	for round := range 20 {
		var segs []filter.Segment
		n := 1 + g.r.IntN(200)
		for i := range n {
			if i > 0 && g.r.IntN(10) == 0 {
				s := segs[g.r.IntN(i)]
				s.ID = fmt.Sprint(i)
				segs = append(segs, s) // a duplicate
				continue
			}
			s := g.segment(i, g.r.IntN(9), []int{0, 2, 8}[g.r.IntN(3)])
			if len(s.Filters) > 1 && g.r.IntN(5) == 0 {
				s.Filters = append(s.Filters, s.Filters[0]) // a duplicate condition
			}
			segs = append(segs, s)
		}
		_ = round
		checkSet(t, g, segs, 15)
	}
}

// TestAttackCombineManySegments: 10,000 segments.
func TestAttackCombineManySegments(t *testing.T) {
	g := attackGen{rand.New(rand.NewPCG(5, 6))}
	var segs []filter.Segment
	for i := range 10000 {
		segs = append(segs, g.segment(i, g.r.IntN(6), 6))
	}
	checkSet(t, g, segs, 3)
}

// TestAttackForeignBuffers: a Scratch or a dst that does not fit the Set
// panics (it must not read or write past them), on the eager path and
// the lazy one.
func TestAttackForeignBuffers(t *testing.T) {
	g := attackGen{rand.New(rand.NewPCG(7, 8))}
	build := func(n, k int) *Set {
		var segs []filter.Segment
		for i := range n {
			segs = append(segs, g.segment(i, k, 0))
		}
		s, err := CompileSet(segs, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	small, big, bigLazy, huge := build(3, 2), build(200, 6), build(10, 6), build(300, 8)
	raw := []byte(`{"a":"IT","b":"ab","n":7,"s":"zz","arr":["a",1],"o":{"x":"abc"}}`)
	for _, c := range []struct {
		name string
		set  *Set
		sc   *Scratch
		dst  int
	}{
		{"scratch of a smaller set", big, small.NewScratch(), big.Len()},
		{"scratch of a bigger set", bigLazy, big.NewScratch(), bigLazy.Len()},
		{"scratch of a bigger set, eager", big, huge.NewScratch(), big.Len()},
		{"scratch of a smaller set, lazy", bigLazy, small.NewScratch(), bigLazy.Len()},
		{"short dst", big, big.NewScratch(), big.Len() - 1},
		{"short dst, lazy", bigLazy, bigLazy.NewScratch(), bigLazy.Len() - 1},
		{"empty dst", big, big.NewScratch(), 0},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			_ = c.set.MatchJSON(raw, attackNow, make([]bool, c.dst), c.sc)
		}()
	}
}
