package plan

import (
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// TestIndexKindsBuildIndexes: every operator that declares an index kind
// gets its conditions on one field decided by a field index in a Set, and
// the same conditions with ignore_case (or a value of the wrong type) are
// decided alone. Whether the index decides them right is the business of
// the shared case table and the property tests, which run the engine.
func TestIndexKindsBuildIndexes(t *testing.T) {
	values := map[operators.IndexKind][2]any{
		operators.IndexEquals:   {"IT", 3},
		operators.IndexAbove:    {1, 2},
		operators.IndexAtLeast:  {1, 2},
		operators.IndexBelow:    {1, 2},
		operators.IndexAtMost:   {1, 2},
		operators.IndexContains: {"a", "b"},
		operators.IndexPrefix:   {"a", "b"},
		operators.IndexSuffix:   {"a", "b"},
	}
	indexed := 0
	for _, name := range operators.Canonical() {
		op, _ := operators.Lookup(name)
		if op.Index == operators.NotIndexed || op.Negates != nil {
			continue
		}
		vs, ok := values[op.Index]
		if !ok {
			t.Fatalf("%s: index kind %d has no test values here", name, op.Index)
		}
		if name == "in" {
			vs = [2]any{[]any{"IT", "FR"}, []any{3, "DE"}}
		}
		seg := func(id string, v any, fold bool) filter.Segment {
			c := filter.Cond("f", name, v)
			c.IgnoreCase = fold
			return filter.Segment{ID: id, Filters: []filter.Filter{c}}
		}
		s, err := CompileSet([]filter.Segment{seg("a", vs[0], false), seg("b", vs[1], false), seg("c", vs[0], true)}, time.Now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.indexes[0] == nil || s.indexes[1] == nil {
			t.Errorf("%s: its conditions on one field are not decided by an index", name)
		}
		if !op.Index.Ordered() && s.indexes[2] != nil { // numbers do not fold
			t.Errorf("%s: an ignore_case condition is decided by the index", name)
		}
		indexed++
	}
	if indexed < 8 {
		t.Errorf("only %d operators declare an index kind", indexed)
	}
}

func TestOrderListBelow(t *testing.T) {
	for n := 0; n <= 9; n++ {
		var l orderList
		for i := range n {
			l.add(float64(i/2), int32(i)) // repeated bounds
		}
		l.sort()
		for x := -1.0; x <= float64(n/2)+1; x += 0.5 {
			for _, orEqual := range []bool{false, true} {
				want := 0
				for _, b := range l.bounds {
					if b < x || orEqual && b == x {
						want++
					}
				}
				if got := countBelow(l.bounds, x, orEqual); got != want {
					t.Errorf("n=%d x=%v orEqual=%v: below %d, want %d", n, x, orEqual, got, want)
				}
			}
		}
	}
}
