package randgen_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/operators"
	"github.com/segmatch/segmatch/oracle"
)

// TestCoversRegistry: the generator's spellings are the registry's, and
// for every spelling (each canonical operator and each alias) it draws
// valid conditions. An operator the registry has and the generator has
// no value for fails by name. It is the file's first test: the others
// would stop at the generator's panic.
func TestCoversRegistry(t *testing.T) {
	assert.Equal(t, operators.Spellings(), randgen.Operators, "randgen.Operators is the registry's spellings, in order")
	g := randgen.New(3)
	for range 6 {
		g.Contact() // values are often read from recent contacts
	}
	for _, spelling := range operators.Spellings() {
		for range 60 {
			f, err := condition(g, spelling)
			if err != nil {
				t.Errorf("operator %q: %v", spelling, err)
				break
			}
			require.Equal(t, spelling, f.Operator)
			if _, err := segmatch.Compile(filter.Segment{Filters: []filter.Filter{f}}); err != nil {
				t.Errorf("operator %q: generated condition does not compile: %v", spelling, err)
				break
			}
		}
	}
	assert.Panics(t, func() { g.Condition("opertor") })
}

// condition draws one condition, turning the generator's panic (no value
// for an operator) into an error.
func condition(g *randgen.Gen, spelling string) (f filter.Filter, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("randgen cannot generate it: %v", r)
		}
	}()
	return g.Condition(spelling), nil
}

func sample(seed uint64, n int) (segs []string, contacts []string) {
	g := randgen.New(seed)
	for range n {
		c, _ := json.Marshal(g.Contact())
		s, _ := json.Marshal(g.Segment())
		contacts = append(contacts, string(c))
		segs = append(segs, string(s))
	}
	return segs, contacts
}

func TestDeterministic(t *testing.T) {
	s1, c1 := sample(7, 200)
	s2, c2 := sample(7, 200)
	assert.Equal(t, s1, s2)
	assert.Equal(t, c1, c2)
	s3, _ := sample(8, 200)
	assert.NotEqual(t, s1, s3)
}

// conditions lists the conditions of a filter list, elem_match groups
// included.
func conditions(t *testing.T, fs []filter.Filter) []filter.Filter {
	var out []filter.Filter
	for _, f := range fs {
		switch {
		case f.IsGroup():
			out = append(out, conditions(t, f.Filters)...)
		case f.Operator == "elem_match":
			out = append(out, f)
			g, err := filter.DecodeGroup(f.Value, "", 2)
			require.NoError(t, err)
			out = append(out, conditions(t, g.Filters)...)
		default:
			out = append(out, f)
		}
	}
	return out
}

// TestValidAndCovering: every segment survives its JSON form and compiles
// with both backends; every operator spelling, negate and ignore_case
// appear; contacts are JSON-shaped.
func TestValidAndCovering(t *testing.T) {
	g := randgen.New(1)
	spellings := map[string]bool{}
	var negated, folded, grouped bool
	for range 2000 {
		c := g.Contact()
		raw, err := json.Marshal(c)
		require.NoError(t, err)
		var back map[string]any
		require.NoError(t, json.Unmarshal(raw, &back))
		require.Equal(t, back, c, "a contact is what encoding/json decodes")

		seg := g.Segment()
		raw, err = json.Marshal(seg)
		require.NoError(t, err)
		var dec filter.Segment
		require.NoError(t, json.Unmarshal(raw, &dec), string(raw))
		_, err = segmatch.Compile(dec)
		require.NoError(t, err, string(raw))
		_, err = oracle.Compile(seg, randgen.Now)
		require.NoError(t, err, string(raw))
		for _, f := range seg.Filters {
			grouped = grouped || f.IsGroup()
		}
		for _, f := range conditions(t, seg.Filters) {
			spellings[f.Operator] = true
			negated = negated || f.Negate
			folded = folded || f.IgnoreCase
		}
	}
	for _, op := range operators.Spellings() {
		assert.True(t, spellings[op], "operator %q never generated", op)
	}
	assert.Len(t, spellings, len(operators.Spellings()))
	assert.True(t, negated && folded && grouped)
}

// TestConditionsMeetData: generated conditions both match and fail on the
// contacts generated just before them, for every operator, so that a
// property test exercises each one on both sides.
func TestConditionsMeetData(t *testing.T) {
	g := randgen.New(2)
	trues, totals := map[string]int{}, map[string]int{}
	bothSides := func() bool {
		for _, op := range operators.Spellings() {
			if trues[op] == 0 || trues[op] == totals[op] {
				return false
			}
		}
		return true
	}
	// Rounds until every operator has met both sides, up to a bound that
	// keeps a generator that never produces one side failing.
	for round := 0; round < 6000 && (round < 1500 || !bothSides()); round++ {
		var cs []map[string]any
		for range 6 {
			cs = append(cs, g.Contact())
		}
		for _, f := range conditions(t, g.Segment().Filters) {
			f.Negate = false
			p, err := oracle.Compile(filter.Segment{Filters: []filter.Filter{f}}, randgen.Now)
			require.NoError(t, err)
			for _, c := range cs {
				totals[f.Operator]++
				if p.Match(c) {
					trues[f.Operator]++
				}
			}
		}
	}
	for _, op := range operators.Spellings() {
		assert.Positive(t, trues[op], "%s never matches (%d tries)", op, totals[op])
		assert.Less(t, trues[op], totals[op], "%s always matches", op)
	}
}
