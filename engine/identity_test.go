package engine_test

import (
	"errors"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNameless: segments are told apart by key, so engine.New refuses a
// segment without an ID or a name, at its index, while Compile of the
// same segment alone accepts it.
func TestNameless(t *testing.T) {
	ok := filter.Segment{ID: "first", Filters: []filter.Filter{}}
	for _, doc := range cases.Nameless {
		seg, err := filter.DecodeSegment([]byte(doc))
		require.NoError(t, err, doc)
		_, err = segmatch.Compile(seg)
		require.NoError(t, err, doc)

		_, err = engine.New([]filter.Segment{ok, seg})
		require.ErrorIs(t, err, segmatch.ErrNoIdentity, doc)
		var ce *segmatch.CompileError
		require.True(t, errors.As(err, &ce), doc)
		assert.Equal(t, "/1", ce.Path, doc)
	}
}

// TestInvalid: every invalid row the decoder lets through is refused by
// engine.New too, at the same pointer under the segment's index.
func TestInvalid(t *testing.T) {
	reached := 0
	for _, c := range cases.Invalids {
		seg, err := filter.DecodeSegment([]byte(c.Doc))
		if err != nil {
			continue // the decoder every entry point shares refused it
		}
		reached++
		seg.ID = "x"
		_, err = engine.New([]filter.Segment{{ID: "ok"}, seg})
		require.Error(t, err, c.Doc)
		for _, want := range c.Errors {
			found := false
			for _, e := range unjoin(err) {
				var ce *segmatch.CompileError
				if errors.As(e, &ce) && ce.Path == "/1"+want.Path && errors.Is(ce, want.Sentinel) {
					found = true
					assert.Contains(t, ce.Error(), want.Says, c.Doc)
				}
			}
			assert.True(t, found, "%s: want %s at /1%s, got %v", c.Doc, want.Sentinel, want.Path, err)
		}
	}
	assert.Greater(t, reached, 20)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
