package rawjson

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendString appends the text of the raw JSON string raw (quotes
// included) to dst as encoding/json decodes it: escapes decoded, a lone
// surrogate and each byte of invalid UTF-8 replaced with U+FFFD. It is
// RepairUTF8(Unquote(raw)) into a buffer the caller keeps, so a string
// read again and again (a megabyte of escapes, once per condition)
// allocates nothing.
func AppendString(dst []byte, raw string) []byte {
	if len(raw) < 2 {
		return dst
	}
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(s, i+1)
				if !ok {
					dst = append(dst, s[i]) // not produced by a validated document
					i++
					continue
				}
				i += 5
				if utf16.IsSurrogate(r) {
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s, i+2); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								dst = utf8.AppendRune(dst, d)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // " \ /
				dst = append(dst, s[i])
			}
			i++
		default: // a run up to the next escape, repaired
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = appendRepaired(dst, s[i:j])
			i = j
		}
	}
	return dst
}

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
