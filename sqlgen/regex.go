package sqlgen

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
)

// PostgreSQL's regular expressions (Spencer's ARE) are not RE2: \b is a
// backspace, \w \d \s and [[:alpha:]] follow the locale, (?i) folds by the
// locale, repetition counts stop at 255, and there is no \pL, \Q...\E or
// (?P<name>). So a pattern is never handed to PostgreSQL as written: it is
// parsed by Go's regexp/syntax (exactly as regexp.Compile parses it) and
// the parse tree is written back in a small ARE subset that means the same
// thing in both engines: every character as a \u escape (or a plain ASCII
// letter or digit), every class as explicit code-point ranges, case
// folding expanded into classes of the simple-folding orbit, ^ $ \A \z as
// the ARE's whole-string anchors, multi-line anchors and ASCII word
// boundaries as lookaround constraints. Whether a match exists does not
// depend on leftmost-first versus leftmost-longest, so greediness is
// dropped. A pattern that cannot be written so (a repetition count above
// 255, or a translation too large for PostgreSQL's regex compiler) is
// ErrNotPushable.

const maxRegexSQL = 64 << 10 // bytes of translated pattern

const wordClass = `[0-9A-Za-z_]`

func translateRegex(pat string, ignoreCase bool) (string, error) {
	if ignoreCase {
		pat = "(?i)" + pat
	}
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("(?:")
	if err := writeRE(&b, re); err != nil {
		return "", err
	}
	b.WriteString(")")
	if b.Len() > maxRegexSQL {
		return "", fmt.Errorf("%w: regex translation is %d bytes", ErrNotPushable, b.Len())
	}
	return b.String(), nil
}

func writeRE(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpNoMatch:
		b.WriteString(noMatch)
	case syntax.OpEmptyMatch:
		b.WriteString("(?:)")
	case syntax.OpLiteral:
		b.WriteString("(?:")
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				writeFoldRune(b, r)
			} else {
				writeRune(b, r)
			}
		}
		b.WriteString(")")
	case syntax.OpCharClass:
		writeClass(b, re.Rune)
	case syntax.OpAnyCharNotNL:
		b.WriteString(`[^\u000a]`)
	case syntax.OpAnyChar:
		b.WriteString(`(?:.|\u000a)`)
	case syntax.OpBeginLine:
		b.WriteString(`(?:^|(?<=\u000a))`)
	case syntax.OpEndLine:
		b.WriteString(`(?:$|(?=\u000a))`)
	case syntax.OpBeginText:
		b.WriteString(`^`)
	case syntax.OpEndText:
		b.WriteString(`$`)
	case syntax.OpWordBoundary:
		b.WriteString(`(?:(?<=` + wordClass + `)(?!` + wordClass + `)|(?<!` + wordClass + `)(?=` + wordClass + `))`)
	case syntax.OpNoWordBoundary:
		b.WriteString(`(?:(?<=` + wordClass + `)(?=` + wordClass + `)|(?<!` + wordClass + `)(?!` + wordClass + `))`)
	case syntax.OpCapture:
		b.WriteString("(?:")
		if err := writeRE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(")")
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		b.WriteString("(?:")
		if err := writeRE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(")")
		b.WriteString(map[syntax.Op]string{syntax.OpStar: "*", syntax.OpPlus: "+", syntax.OpQuest: "?"}[re.Op])
	case syntax.OpRepeat:
		if re.Min > 255 || re.Max > 255 {
			return fmt.Errorf("%w: repetition count above 255", ErrNotPushable)
		}
		b.WriteString("(?:")
		if err := writeRE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(")")
		switch {
		case re.Max < 0:
			fmt.Fprintf(b, "{%d,}", re.Min)
		case re.Max == re.Min:
			fmt.Fprintf(b, "{%d}", re.Min)
		default:
			fmt.Fprintf(b, "{%d,%d}", re.Min, re.Max)
		}
	case syntax.OpConcat:
		b.WriteString("(?:")
		for _, s := range re.Sub {
			if err := writeRE(b, s); err != nil {
				return err
			}
		}
		b.WriteString(")")
	case syntax.OpAlternate:
		b.WriteString("(?:")
		for i, s := range re.Sub {
			if i > 0 {
				b.WriteString("|")
			}
			if err := writeRE(b, s); err != nil {
				return err
			}
		}
		b.WriteString(")")
	default:
		return fmt.Errorf("%w: regex construct %v", ErrNotPushable, re.Op)
	}
	return nil
}

// noMatch matches nothing: only U+0000, which PostgreSQL text never holds.
const noMatch = `[\u0000]`

func isPlain(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

func escRune(r rune) string {
	if isPlain(r) {
		return string(r)
	}
	if r <= 0xFFFF {
		return fmt.Sprintf(`\u%04x`, r)
	}
	return fmt.Sprintf(`\U%08x`, r)
}

func writeRune(b *strings.Builder, r rune) {
	if isPlain(r) {
		b.WriteRune(r)
		return
	}
	b.WriteString(escRune(r))
}

// writeFoldRune writes a class of r's simple-folding orbit.
func writeFoldRune(b *strings.Builder, r rune) {
	if unicode.SimpleFold(r) == r {
		writeRune(b, r)
		return
	}
	b.WriteString("[")
	b.WriteString(escRune(r))
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		b.WriteString(escRune(f))
	}
	b.WriteString("]")
}

// writeClass writes [lo-hi...] ranges, leaving out what PostgreSQL text
// cannot hold (U+0000 and the surrogates).
func writeClass(b *strings.Builder, ranges []rune) {
	var parts []string
	add := func(lo, hi rune) {
		if lo > hi {
			return
		}
		if lo == hi {
			parts = append(parts, escRune(lo))
		} else {
			parts = append(parts, escRune(lo)+"-"+escRune(hi))
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo == 0 {
			lo = 1
		}
		if lo <= 0xDFFF && hi >= 0xD800 {
			add(lo, min(hi, 0xD7FF))
			add(max(lo, 0xE000), hi)
			continue
		}
		add(lo, hi)
	}
	if len(parts) == 0 {
		b.WriteString(noMatch)
		return
	}
	b.WriteString("[")
	b.WriteString(strings.Join(parts, ""))
	b.WriteString("]")
}
