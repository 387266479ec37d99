package filter

import (
	"fmt"
	"strings"
)

// Suggest returns the known word a misspelt one was most likely meant to
// be: the nearest within edit distance 2 (insertions, deletions,
// substitutions and swaps of neighbours, case ignored), and nearer than
// either word's length, so that a suggestion always keeps something of
// what was typed ("x" suggests nothing, nor does "nope" suggest "ne").
// Ties go to the earlier word of known.
func Suggest(word string, known []string) (string, bool) {
	if len(word) > maxSuggestLen {
		return "", false
	}
	w := strings.ToLower(word)
	best, bestD := "", maxSuggestDistance+1
	for _, k := range known {
		if k == word || len(k) > len(w)+maxSuggestDistance || len(w) > len(k)+maxSuggestDistance {
			continue
		}
		if d := editDistance(w, strings.ToLower(k)); d < bestD && d < len(w) && d < len(k) {
			best, bestD = k, d
		}
	}
	return best, bestD <= maxSuggestDistance
}

const (
	maxSuggestDistance = 2
	// maxSuggestLen: no known key or operator is longer than this, so a
	// longer word has nothing within reach (and costs nothing to refuse).
	maxSuggestLen = 64
)

// editDistance is the optimal string alignment distance between a and b,
// on bytes (every known word is ASCII).
func editDistance(a, b string) int {
	// Three rows: two back for a swap of neighbours.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Unknown reports name, which is none of known, at path:
// `unknown key "filter" (did you mean "filters"?)`. A long name is cut
// short in the message.
func Unknown(path string, sentinel error, name string, known []string) *Error {
	msg := sentinel.Error() + " " + quoteShort(name)
	if s, ok := Suggest(name, known); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &Error{Path: path, Err: phraseError{sentinel, msg}}
}

// quoteShort quotes s, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// phraseError is a sentinel said in a whole phrase of its own.
type phraseError struct {
	sentinel error
	msg      string
}

func (p phraseError) Error() string { return p.msg }
func (p phraseError) Unwrap() error { return p.sentinel }
