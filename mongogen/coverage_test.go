package mongogen_test

import (
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/mongogen"
	"github.com/segmatch/segmatch/operators"
)

// TestPushesEveryOperator: for every spelling of the registry (each
// canonical operator and each alias), random valid conditions written
// with it compile, in both modes, to a filter that marshals as BSON; an
// operator the table lists as None pushes nothing ({}), negated or not,
// and is never exact. That the filters mean what the engine means is
// mongorun's differential tests' business (they need a server).
func TestPushesEveryOperator(t *testing.T) {
	g := randgen.New(18)
	for range 6 {
		g.Contact()
	}
	for _, spelling := range operators.Spellings() {
		kind, note := mongogen.Pushdown(spelling)
		if note == "" || note == "unknown operator" {
			t.Errorf("operator %q: no pushdown note (%s)", spelling, note)
		}
		for range 40 {
			f, err := condition(g, spelling)
			if err != nil {
				t.Errorf("operator %q: %v", spelling, err)
				break
			}
			for _, opts := range [][]mongogen.Option{{mongogen.WithNow(randgen.Now)}, {mongogen.WithNow(randgen.Now), mongogen.FerretDB()}} {
				q, err := mongogen.Compile(filter.Segment{Filters: []filter.Filter{f}}, opts...)
				if err != nil {
					t.Fatalf("operator %q: %v", spelling, err)
				}
				if _, err := bson.Marshal(q.Filter); err != nil {
					t.Fatalf("operator %q: the filter does not marshal: %v", spelling, err)
				}
				if kind == mongogen.None && (len(q.Filter) != 0 || q.Exact) {
					t.Errorf("operator %q is listed as None, pushes %v (exact %v)", spelling, q.Filter, q.Exact)
				}
			}
		}
	}
}

// TestRandomSegmentsCompile: randgen segments (nested groups, negations,
// every operator) always compile to a BSON filter, in both modes.
func TestRandomSegmentsCompile(t *testing.T) {
	g := randgen.New(1818)
	n := 3000
	if testing.Short() {
		n = 300
	}
	exact := 0
	for i := range n {
		g.Contact()
		seg := g.Segment()
		for _, opts := range [][]mongogen.Option{{mongogen.WithNow(randgen.Now)}, {mongogen.WithNow(randgen.Now), mongogen.FerretDB()}} {
			q, err := mongogen.Compile(seg, opts...)
			if err != nil {
				t.Fatalf("segment %d: %v", i, err)
			}
			if _, err := bson.Marshal(q.Filter); err != nil {
				t.Fatalf("segment %d: %v", i, err)
			}
			if q.Exact {
				exact++
			}
		}
	}
	t.Logf("%d segments, %d of the filters exact", n, exact)
}

// condition draws one condition, turning randgen's panic (an operator
// it has no value for) into an error.
func condition(g *randgen.Gen, spelling string) (f filter.Filter, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("randgen cannot generate it: %v", r)
		}
	}()
	return g.Condition(spelling), nil
}
