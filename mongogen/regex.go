package mongogen

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The regexes mongogen writes use only what MongoDB's PCRE and
// FerretDB's Go regexp read alike: \A and \z (never $, which PCRE lets
// match before a final newline), non-capturing groups, bracketed classes
// of \x{...} code points, counted repeats. Every rune but ASCII letters
// and digits is written \x{...}.

func writeRune(b *strings.Builder, r rune) {
	if r < utf8.RuneSelf && (('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
		b.WriteRune(r)
		return
	}
	fmt.Fprintf(b, `\x{%x}`, r)
}

// quoteLiteral is a regex matching s itself.
func quoteLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		writeRune(&b, r)
	}
	return b.String()
}

// orbit is the simple-folding orbit of r (r first).
func orbit(r rune) []rune {
	out := []rune{r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		out = append(out, f)
	}
	return out
}

// foldRune writes a class of r's folding orbit (r alone when it has
// none), the runes operators.FoldRune maps alike.
func foldRune(b *strings.Builder, r rune) {
	o := orbit(r)
	if len(o) == 1 {
		writeRune(b, r)
		return
	}
	b.WriteByte('[')
	for _, x := range o {
		writeRune(b, x)
	}
	b.WriteByte(']')
}

// foldLiteral matches s ignoring case as segmatch does (Unicode simple
// folding, rune by rune).
func foldLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		foldRune(&b, r)
	}
	return b.String()
}

// maxRegexOut bounds the translated pattern (an orbit class per folded
// rune can grow it).
const maxRegexOut = 16 << 10

// translateRegex rewrites an RE2 pattern (ignore_case adds (?i)) as a
// regex with the same matches in MongoDB and FerretDB, or reports that
// it cannot: multi-line anchors, word boundaries (PCRE's may be
// Unicode-aware), repetition of anything but one atom, or more than
// maxRepeats repetitions (PCRE backtracks: a pattern from a segment must
// not cost the server exponential, or high polynomial, time).
func translateRegex(pat string, fold bool) (string, bool) {
	flags := syntax.Perl
	if fold {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(pat, flags)
	if err != nil {
		return "", false
	}
	if repeats(re) > maxRepeats {
		return "", false
	}
	var b strings.Builder
	if !writeRegex(&b, re, 0) || b.Len() > maxRegexOut {
		return "", false
	}
	return b.String(), true
}

// maxRepeats bounds the repetitions of a translated pattern: PCRE
// backtracks, and k adjacent repeats (a*a*a*b) cost n^k on a string of
// n bytes; each repeats one atom (a literal, a class, any character),
// never an alternation or a group (so (a|aa)*, exponential there, is not
// translated).
const maxRepeats = 3

func repeats(re *syntax.Regexp) int {
	n := 0
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		n = 1
	}
	for _, s := range re.Sub {
		n += repeats(s)
	}
	return n
}

func writeRegex(b *strings.Builder, re *syntax.Regexp, reps int) bool {
	if b.Len() > maxRegexOut {
		return false
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		b.WriteString("(?:)")
	case syntax.OpLiteral:
		b.WriteString("(?:")
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				foldRune(b, r)
			} else {
				writeRune(b, r)
			}
		}
		b.WriteString(")")
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		b.WriteByte('[')
		for i := 0; i+1 < len(re.Rune); i += 2 {
			writeRune(b, re.Rune[i])
			if re.Rune[i+1] != re.Rune[i] {
				b.WriteByte('-')
				writeRune(b, re.Rune[i+1])
			}
		}
		b.WriteByte(']')
	case syntax.OpAnyCharNotNL:
		b.WriteString(`[^\x{a}]`)
	case syntax.OpAnyChar:
		b.WriteString(`[\x{0}-\x{10ffff}]`)
	case syntax.OpBeginText:
		b.WriteString(`\A`)
	case syntax.OpEndText:
		b.WriteString(`\z`)
	case syntax.OpCapture:
		b.WriteString("(?:")
		if !writeRegex(b, re.Sub[0], reps) {
			return false
		}
		b.WriteString(")")
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		switch re.Sub[0].Op {
		case syntax.OpLiteral, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		default:
			return false
		}
		if reps > 0 {
			return false
		}
		b.WriteString("(?:")
		if !writeRegex(b, re.Sub[0], reps+1) {
			return false
		}
		b.WriteString(")")
		switch re.Op {
		case syntax.OpStar:
			b.WriteString("*")
		case syntax.OpPlus:
			b.WriteString("+")
		case syntax.OpQuest:
			b.WriteString("?")
		default:
			if re.Max < 0 {
				fmt.Fprintf(b, "{%d,}", re.Min)
			} else {
				fmt.Fprintf(b, "{%d,%d}", re.Min, re.Max)
			}
		}
	case syntax.OpConcat:
		b.WriteString("(?:")
		for _, s := range re.Sub {
			if !writeRegex(b, s, reps) {
				return false
			}
		}
		b.WriteString(")")
	case syntax.OpAlternate:
		b.WriteString("(?:")
		for i, s := range re.Sub {
			if i > 0 {
				b.WriteByte('|')
			}
			if !writeRegex(b, s, reps) {
				return false
			}
		}
		b.WriteString(")")
	default:
		// OpNoMatch, OpBeginLine, OpEndLine, OpWordBoundary,
		// OpNoWordBoundary: not translated.
		return false
	}
	return true
}
