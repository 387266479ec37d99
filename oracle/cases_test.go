package oracle_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/operators"
	"github.com/segmatch/segmatch/oracle"
)

// notExpressible lists, by case name, the rows of the shared table the
// oracle cannot express, each with the reason. There are none: every
// row runs. A name here that is no row of the table fails the test.
var notExpressible = map[string]string{}

// TestCases runs every row of the shared case table (internal/cases)
// through oracle.Compile and Match, at the table's clock, and checks that
// the rows use every operator spelling of the registry.
func TestCases(t *testing.T) {
	all := cases.All()
	require.GreaterOrEqual(t, len(all), 500)
	ran := 0
	used := map[string]bool{}
	names := map[string]bool{}
	for _, c := range all {
		names[c.Name] = true
		if why, ok := notExpressible[c.Name]; ok {
			t.Logf("skipped %s: %s", c.Name, why)
			continue
		}
		operatorsOf(c.Segment.Filters, used)
		p, err := oracle.Compile(c.Segment, cases.Now)
		if !assert.NoError(t, err, c.Name) {
			continue
		}
		ran++
		assert.Equal(t, c.Want, p.Match(c.ContactMap()), "%s\nsource: %s", c.Name, p.Source())
	}
	for name := range notExpressible {
		assert.True(t, names[name], "notExpressible names no row of the table: %s", name)
	}
	for _, s := range operators.Spellings() {
		assert.True(t, used[s], "no row of the case table the oracle runs uses operator %q", s)
	}
	t.Logf("cases: %d of %d rows through the oracle", ran, len(all))
}

// operatorsOf records the operators of a filter list, groups and
// elem_match groups included.
func operatorsOf(fs []filter.Filter, used map[string]bool) {
	for _, f := range fs {
		if f.IsGroup() {
			operatorsOf(f.Filters, used)
			continue
		}
		used[f.Operator] = true
		if f.Operator == "elem_match" {
			if g, err := filter.DecodeGroup(f.Value, "", 2); err == nil {
				operatorsOf(g.Filters, used)
			}
		}
	}
}
