package segmatch_test

import (
	"errors"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixedNow() segmatch.Option { return segmatch.WithNow(func() (t time.Time) { return cases.Now }) }

// TestCases runs the core table through Match and MatchJSON.
func TestCases(t *testing.T) {
	all := cases.All()
	require.GreaterOrEqual(t, len(all), 200)
	for _, c := range all {
		prog, err := segmatch.Compile(c.Segment, fixedNow())
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Want, prog.Match(c.ContactMap()), "Match %s", c.Name)
		got, err := prog.MatchJSON([]byte(c.Contact))
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Want, got, "MatchJSON %s", c.Name)
	}
	t.Logf("%d cases", len(all))
}

// TestInvalid checks the path and sentinel of every problem.
func TestInvalid(t *testing.T) {
	for _, c := range cases.Invalids {
		err := compileDoc(c.Doc)
		require.Error(t, err, c.Doc)
		var got []cases.Problem
		for _, e := range flatten(err) {
			var ce *segmatch.CompileError
			require.True(t, errors.As(e, &ce), "%s: %T %v", c.Doc, e, e)
			got = append(got, cases.Problem{Path: ce.Path})
			matched := false
			for _, want := range c.Errors {
				if want.Path == ce.Path && errors.Is(ce, want.Sentinel) {
					matched = true
					assert.Contains(t, ce.Error(), want.Says, c.Doc)
				}
			}
			assert.True(t, matched, "%s: unexpected %v", c.Doc, ce)
		}
		assert.Len(t, got, len(c.Errors), "%s: %v", c.Doc, err)
	}
}

func compileDoc(doc string) error {
	seg, err := filter.DecodeSegment([]byte(doc))
	if err != nil {
		return err
	}
	_, err = segmatch.Compile(seg)
	return err
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
