package rawjson

import (
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// The functions below read documents that Validate accepted; on other
// input they return nonsense but never panic or loop.

// SkipValue returns the offset just past the value starting at i.
func SkipValue(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				i = skipString(s, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(s)
	}
	// number or literal: up to the next delimiter
	for i < len(s) {
		switch s[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the offset just past the string whose quote is at i.
func skipString(s string, i int) int {
	i++
	for i < len(s) {
		i += plainRunString(s, i)
		if i >= len(s) {
			return len(s)
		}
		if s[i] == '"' {
			return i + 1
		}
		i += 2 // a backslash and the byte it escapes
	}
	return len(s)
}

func skipWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Trim returns s without surrounding whitespace.
func Trim(s string) string {
	i := skipWS(s, 0)
	j := len(s)
	for j > i {
		switch s[j-1] {
		case ' ', '\t', '\n', '\r':
			j--
			continue
		}
		break
	}
	return s[i:j]
}

// ForEachMember calls fn with each member of the object obj, in order:
// the key's raw text without quotes (escapes left in; see Key) and the
// value's raw text. It stops when fn returns false.
func ForEachMember(obj string, fn func(rawKey, val string) bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i = skipWS(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		end := skipString(obj, i)
		rawKey := obj[i+1 : end-1]
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i = skipWS(obj, i+1)
		vend := SkipValue(obj, i)
		if !fn(rawKey, obj[i:vend]) {
			return
		}
		i = skipWS(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return
		}
		i = skipWS(obj, i+1)
	}
}

// Key returns a raw key's text with escapes decoded (allocating only when
// it has escapes).
func Key(rawKey string) string {
	if strings.IndexByte(rawKey, '\\') < 0 {
		return rawKey
	}
	return gjson.Parse(`"` + rawKey + `"`).Str
}

// Member returns the raw value of key in obj; when the key repeats, the
// last one wins, as in encoding/json.
func Member(obj, key string) (string, bool) {
	var out string
	found := false
	// encoding/json replaces each byte of invalid UTF-8 in a key with
	// U+FFFD; only a key holding U+FFFD can be such a repair.
	repaired := strings.ContainsRune(key, utf8.RuneError)
	ForEachMember(obj, func(rawKey, val string) bool {
		if rawKey == key || (strings.IndexByte(rawKey, '\\') >= 0 && Key(rawKey) == key) ||
			(repaired && DecodedKey(rawKey) == key) {
			out, found = val, true
		}
		return true
	})
	return out, found
}

// ForEachElem calls fn with the raw text of each element of the array arr
// until fn returns true, and reports whether it did.
func ForEachElem(arr string, fn func(val string) bool) bool {
	i := skipWS(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = skipWS(arr, i+1)
	for i < len(arr) && arr[i] != ']' {
		end := SkipValue(arr, i)
		if fn(arr[i:end]) {
			return true
		}
		i = skipWS(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			return false
		}
		i = skipWS(arr, i+1)
	}
	return false
}

// ForEachFlat calls fn with the raw text of each element of the array
// arr that is not itself an array, descending into nested arrays in place
// (so [[1,[2]],3] gives 1, 2, 3), until fn returns true, and reports
// whether it did. It reads each byte once: a nested array is walked, not
// skipped and then walked again, so deep nesting costs linear time.
func ForEachFlat(arr string, fn func(val string) bool) bool {
	_, stop := forEachFlat(arr, skipWS(arr, 0), fn)
	return stop
}

// forEachFlat walks the array at s[i] and returns the offset after it.
func forEachFlat(s string, i int, fn func(val string) bool) (int, bool) {
	if i >= len(s) || s[i] != '[' {
		return i, false
	}
	i = skipWS(s, i+1)
	for i < len(s) && s[i] != ']' {
		if s[i] == '[' {
			end, stop := forEachFlat(s, i, fn)
			if stop {
				return end, true
			}
			i = end
		} else {
			end := SkipValue(s, i)
			if fn(s[i:end]) {
				return end, true
			}
			i = end
		}
		i = skipWS(s, i)
		if i >= len(s) || s[i] != ',' {
			break
		}
		i = skipWS(s, i+1)
	}
	return i + 1, false
}

// Unquote returns the text of a raw JSON string (quotes included in raw),
// decoding escapes (allocating only when there are some).
func Unquote(raw string) string {
	if len(raw) < 2 {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner
	}
	return gjson.Parse(raw).Str
}

// DecodedKey is what encoding/json makes of a raw key: escapes decoded,
// each byte of invalid UTF-8 replaced with U+FFFD (allocating only when
// there are escapes or invalid bytes).
func DecodedKey(rawKey string) string { return RepairUTF8(Key(rawKey)) }

// RepairUTF8 replaces each byte of invalid UTF-8 in s with U+FFFD, as
// encoding/json does when it decodes a string.
func RepairUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendRepaired(make([]byte, 0, len(s)+8), s))
}

// appendRepaired appends s with each byte of invalid UTF-8 replaced by
// U+FFFD.
func appendRepaired(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
