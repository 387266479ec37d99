package filter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSuggest(t *testing.T) {
	for word, want := range map[string]string{
		"filter":                      "filters",
		"matc":                        "match",
		"fitlers":                     "filters", // a swap is one edit
		"fltrs":                       "filters", // two deletions
		"Name":                        "name",    // case is ignored
		"createdat":                   "createdAt",
		"x":                           "",     // nothing of it would be kept
		"nope":                        "name", // two substitutions
		"zzz":                         "",
		"colour":                      "",
		"filters":                     "", // a known word needs no suggestion
		strings.Repeat("filters", 20): "",
	} {
		got, ok := Suggest(word, SegmentKeys)
		assert.Equal(t, want, got, word)
		assert.Equal(t, want != "", ok, word)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "ab", 2}, {"abc", "abc", 0},
		{"contians", "contains", 1}, {"ab", "ba", 1}, {"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
	} {
		assert.Equal(t, c.d, editDistance(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.d, editDistance(c.b, c.a), "%q %q", c.b, c.a)
	}
}

func TestUnknownCutsLongNames(t *testing.T) {
	e := Unknown("/k", ErrUnknownKey, strings.Repeat("é", 100), SegmentKeys)
	assert.ErrorIs(t, e, ErrUnknownKey)
	assert.Less(t, len(e.Error()), 100)
	assert.True(t, strings.HasSuffix(e.Error(), `"...`), e.Error())
}
