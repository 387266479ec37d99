package sqlgen

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to the smallest rune of its simple-folding orbit, as the
// in-memory operators do (operators/fold.go).
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

func foldString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldTable is the translate() table of segmatch_fold: every non-ASCII
// rune whose fold differs from itself, and its fold.
func foldTable() (from, to string) {
	var f, t strings.Builder
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		if m := foldRune(r); m != r {
			f.WriteRune(r)
			t.WriteRune(m)
		}
	}
	return f.String(), t.String()
}
