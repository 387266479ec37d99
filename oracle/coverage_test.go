package oracle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/operators"
	"github.com/segmatch/segmatch/oracle"
)

// TestCompilesEveryOperator: for every spelling of the registry (each
// canonical operator and each alias), random valid conditions written
// with it compile in the oracle and evaluate without a run-time error.
// A missing operator fails by name.
func TestCompilesEveryOperator(t *testing.T) {
	g := randgen.New(14)
	var contacts []map[string]any
	for range 6 {
		contacts = append(contacts, g.Contact())
	}
	for _, spelling := range operators.Spellings() {
		for i := range 40 {
			f, err := condition(g, spelling)
			if err != nil {
				t.Errorf("operator %q: %v", spelling, err)
				break
			}
			seg := filter.Segment{Filters: []filter.Filter{f}}
			if _, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return randgen.Now })); err != nil {
				t.Fatalf("operator %q: randgen's condition %d does not compile in the core: %v", spelling, i, err)
			}
			p, err := oracle.Compile(seg, randgen.Now)
			if err != nil {
				t.Errorf("operator %q: the oracle does not compile it: %v", spelling, err)
				break
			}
			if err := matchAll(p, contacts); err != nil {
				t.Errorf("operator %q: %v", spelling, err)
				break
			}
		}
	}
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

func matchAll(p *oracle.Program, contacts []map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("run-time error: %v", r)
		}
	}()
	for _, c := range contacts {
		p.Match(c)
	}
	return nil
}
