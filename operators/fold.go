package operators

import (
	"unicode"
	"unicode/utf8"
)

// Case-insensitive comparison with Unicode simple folding, without
// allocating: runes compare by a canonical member of their folding orbit.

// FoldRune maps r to the smallest rune of its simple-folding orbit: the
// canonical form two runes share when they are equal ignoring case.
func FoldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

// FoldString returns s with every rune canonically folded.
func FoldString(s string) string { return string(appendFold(make([]byte, 0, len(s)), s)) }

// appendFold appends the folded form of s to b.
func appendFold(b []byte, s string) []byte {
	for _, r := range s {
		b = utf8.AppendRune(b, FoldRune(r))
	}
	return b
}

// hasPrefixFold reports whether s starts with prefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if r1 != r2 && FoldRune(r1) != FoldRune(r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

// hasSuffixFold reports whether s ends with suffix, ignoring case.
func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeLastRuneInString(s)
		r2, n2 := utf8.DecodeLastRuneInString(suffix)
		if r1 != r2 && FoldRune(r1) != FoldRune(r2) {
			return false
		}
		s, suffix = s[:len(s)-n1], suffix[:len(suffix)-n2]
	}
	return true
}

// containsFold reports whether sub occurs in s, ignoring case.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	for i := 0; i < len(s); {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return false
}

// equalFold reports whether a and b are equal, ignoring case.
func equalFold(a, b string) bool {
	for a != "" && b != "" {
		r1, n1 := utf8.DecodeRuneInString(a)
		r2, n2 := utf8.DecodeRuneInString(b)
		if r1 != r2 && FoldRune(r1) != FoldRune(r2) {
			return false
		}
		a, b = a[n1:], b[n2:]
	}
	return a == b
}
