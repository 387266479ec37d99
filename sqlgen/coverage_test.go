package sqlgen_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/operators"
	"github.com/segmatch/segmatch/sqlgen"
)

// TestPushesEveryOperator: for every spelling of the registry (each
// canonical operator and each alias), random valid conditions written
// with it compile to a clause, or, for an operator sqlgen lists as not
// pushable, to ErrNotPushable saying why. No database is needed: that
// the clauses mean what the engine means is pg_test's business.
func TestPushesEveryOperator(t *testing.T) {
	g := randgen.New(14)
	for range 6 {
		g.Contact()
	}
	for _, spelling := range operators.Spellings() {
		pushable, reason := sqlgen.Pushable(spelling)
		for range 40 {
			f, err := condition(g, spelling)
			if err != nil {
				t.Errorf("operator %q: %v", spelling, err)
				break
			}
			seg := filter.Segment{Filters: []filter.Filter{f}}
			clause, _, err := sqlgen.Where(seg, "doc", sqlgen.WithNow(randgen.Now))
			if !pushable {
				if !errors.Is(err, sqlgen.ErrNotPushable) || !strings.Contains(err.Error(), reason) {
					t.Errorf("operator %q is listed as not pushable (%s), Where says %v", spelling, reason, err)
					break
				}
				continue
			}
			if errors.Is(err, sqlgen.ErrNotPushable) && usesExpr(seg.Filters) {
				continue // an elem_match group holding expr
			}
			if err != nil {
				t.Errorf("operator %q: not pushed down: %v", spelling, err)
				break
			}
			if clause == "" {
				t.Errorf("operator %q: empty clause", spelling)
				break
			}
		}
	}
}

func TestPushable(t *testing.T) {
	for _, s := range []string{"eq", "!=", "has not", "contains_none", "elem_match", "regex", "semver_ne"} {
		ok, why := sqlgen.Pushable(s)
		assert.True(t, ok, "%s: %s", s, why)
	}
	ok, why := sqlgen.Pushable("expr")
	assert.False(t, ok)
	assert.Equal(t, "expr is evaluated only in memory", why)
	ok, _ = sqlgen.Pushable("opertor")
	assert.False(t, ok)
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
