package sqlgen

import (
	"github.com/segmatch/segmatch/operators"
	"strings"
	"unicode"
)

// foldRune and foldString are the in-memory operators' canonical case
// folding, so SQL folds exactly as Go does.
func foldRune(r rune) rune { return operators.FoldRune(r) }

func foldString(s string) string { return operators.FoldString(s) }

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
