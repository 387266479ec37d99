// Package rawjson checks raw contact documents before they are read with
// gjson: the grammar of encoding/json, its nesting limit, without
// unbounded recursion (a hostile "[[[[..." must not exhaust the stack)
// and without allocating on well-formed input.
package rawjson

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unsafe"
)

// MaxDepth is encoding/json's nesting limit.
const MaxDepth = 10000

// ErrMalformed is wrapped by every error Validate returns.
var ErrMalformed = errors.New("malformed JSON")

// ErrNotObject: the document is well-formed but not a JSON object.
var ErrNotObject = errors.New("contact is not a JSON object")

// SyntaxError locates a problem by byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.Offset, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return ErrMalformed }

func fail(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// ValidateObject checks that b is one well-formed JSON object.
func ValidateObject(b []byte) error { return ValidateCollect(b, nil, 0) }

// Validate checks that b is exactly one well-formed JSON value.
func Validate(b []byte) error { return validate(b, nil, 0) }

// Collector chooses what one pass over an object keeps, so a contact is
// checked and read at once. Nodes name the objects it descends into: the
// document is node 0. Member is called for each member of a node's
// object, with the raw key (without its quotes, escapes left in), and
// returns the member's node, or -1 to skip it. Value is then called with
// the member's raw value when it ends; when that value is an object, its
// members are offered in turn with the member's node as parent. Arrays
// are not descended into.
type Collector interface {
	Member(parent int32, rawKey string) int32
	Value(node int32, raw string)
}

// MaxCollectDepth is how deep a Collector is offered members: objects
// nested deeper are validated only.
const MaxCollectDepth = 16

// ValidateCollect is ValidateObject that also offers the document's
// members to c (nil: none) as it goes, in objects up to depth levels deep
// (1: the document's own members; at most MaxCollectDepth). c may have
// been called before an error is found.
func ValidateCollect(b []byte, c Collector, depth int) error {
	i := skipSpace(b, 0)
	if i == len(b) {
		return fail(i, "empty input")
	}
	if b[i] != '{' {
		if err := Validate(b); err != nil {
			return err
		}
		return ErrNotObject
	}
	return validate(b, c, min(depth, MaxCollectDepth))
}

// collecting offers a document's members to a Collector: object walks
// the objects it descends into (at most max deep, so its recursion is
// bounded by MaxCollectDepth), and every other value, whatever it holds,
// is checked by value without bookkeeping.
type collecting struct {
	c   Collector
	s   string // the document
	max int    // the deepest object offered
}

func validate(b []byte, c Collector, depth int) error {
	i := skipSpace(b, 0)
	if i == len(b) {
		return fail(i, "empty input")
	}
	var err error
	if c != nil && depth > 0 && b[i] == '{' {
		w := collecting{c: c, max: depth, s: unsafe.String(unsafe.SliceData(b), len(b))}
		i, err = w.object(b, i, 0, 1)
	} else {
		i, err = value(b, i, 0)
	}
	if err != nil {
		return err
	}
	if i = skipSpace(b, i); i != len(b) {
		return fail(i, "data after the top-level value")
	}
	return nil
}

// object reads the object at b[i] ('{'), node node of the Collector, d
// deep (the document is 1; d <= w.max), and returns the offset after it.
func (w *collecting) object(b []byte, i int, node int32, d int) (int, error) {
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		kS := i
		v, kE, err := keyQuick(b, i)
		if err != nil {
			return v, err
		}
		m := w.c.Member(node, w.s[kS+1:kE-1])
		var end int
		switch {
		case v >= len(b):
			return v, fail(v, "unexpected end of input")
		case b[v] == '"':
			end, err = str(b, v)
		case m >= 0 && d < w.max && b[v] == '{':
			end, err = w.object(b, v, m, d+1)
		default:
			end, err = value(b, v, d)
		}
		if err != nil {
			return end, err
		}
		if m >= 0 {
			w.c.Value(m, w.s[v:end])
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return i, fail(i, "unexpected end of input")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			continue
		case '}':
			return i + 1, nil
		}
		return i, fail(i, fmt.Sprintf("unexpected %q", b[i]))
	}
}

// value checks the value at b[i:] (whitespace before it skipped), inside
// d open containers, and returns the offset after it.
func value(b []byte, i, d int) (int, error) {
	if i >= len(b) {
		return i, fail(i, "unexpected end of input")
	}
	switch c := b[i]; c {
	case '"':
		return str(b, i)
	case '{', '[':
		return container(b, i, d)
	case 't':
		if !lit(b, i, "true") {
			return i, fail(i, "invalid literal")
		}
		return i + 4, nil
	case 'f':
		if !lit(b, i, "false") {
			return i, fail(i, "invalid literal")
		}
		return i + 5, nil
	case 'n':
		if !lit(b, i, "null") {
			return i, fail(i, "invalid literal")
		}
		return i + 4, nil
	default:
		if c == '-' || c-'0' < 10 {
			return number(b, i)
		}
		return i, fail(i, fmt.Sprintf("unexpected %q", c))
	}
}

// container checks the object or array at b[i], inside d open
// containers, without recursion: the kind of each container it opens is
// a bit of kinds (1: object), past 64 levels an element of more. Short
// strings (a word holds them) are read inline.
func container(b []byte, i, d int) (int, error) {
	var (
		kinds uint64
		more  []bool
		k     int  // containers open here
		obj   bool // the innermost is an object
		err   error
		c     byte
		m     uint64
		j     int
	)
open: // a container at b[i]
	if d+k >= MaxDepth {
		return i, fail(i, "nested too deep")
	}
	obj = b[i] == '{'
	if k < 64 {
		if obj {
			kinds |= 1 << k
		} else {
			kinds &^= 1 << k
		}
	} else {
		more = append(more[:k-64], obj)
	}
	k++
	i = skipSpace(b, i+1)
	if i < len(b) && (obj && b[i] == '}' || !obj && b[i] == ']') {
		i++
		goto closed
	}
	if !obj {
		goto elem
	}
member: // an object's key at b[i]
	if i >= len(b) || b[i] != '"' {
		return i, fail(i, "want an object key")
	}
	if len(b)-i > 8 {
		if m = stopsValid(binary.LittleEndian.Uint64(b[i+1:])); m != 0 {
			if j = i + 1 + bits.TrailingZeros64(m)>>3; b[j] == '"' {
				i = j + 1
				goto colon
			}
		}
	}
	if i, err = str(b, i); err != nil {
		return i, err
	}
colon:
	if i >= len(b) || b[i] != ':' {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, fail(i, "want ':' after an object key")
		}
	}
	i = skipSpace(b, i+1)
elem: // a value at b[i]
	if i >= len(b) {
		return i, fail(i, "unexpected end of input")
	}
	switch c = b[i]; c {
	case '{', '[':
		goto open
	case '"':
		if len(b)-i > 8 {
			if m = stopsValid(binary.LittleEndian.Uint64(b[i+1:])); m != 0 {
				if j = i + 1 + bits.TrailingZeros64(m)>>3; b[j] == '"' {
					i = j + 1
					goto next
				}
			}
		}
		i, err = str(b, i)
	case 't':
		if !lit(b, i, "true") {
			return i, fail(i, "invalid literal")
		}
		i += 4
	case 'f':
		if !lit(b, i, "false") {
			return i, fail(i, "invalid literal")
		}
		i += 5
	case 'n':
		if !lit(b, i, "null") {
			return i, fail(i, "invalid literal")
		}
		i += 4
	default:
		if c != '-' && c-'0' >= 10 {
			return i, fail(i, fmt.Sprintf("unexpected %q", c))
		}
		i, err = number(b, i)
	}
	if err != nil {
		return i, err
	}
next: // after a value in the innermost container
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, fail(i, "unexpected end of input")
	}
	switch c = b[i]; {
	case c == ',':
		i = skipSpace(b, i+1)
		if obj {
			goto member
		}
		goto elem
	case obj && c == '}', !obj && c == ']':
		i++
		goto closed
	}
	return i, fail(i, fmt.Sprintf("unexpected %q", c))
closed: // the innermost container ended before b[i]
	k--
	switch {
	case k == 0:
		return i, nil
	case k <= 64:
		obj = kinds>>(k-1)&1 != 0
	default:
		obj = more[k-65]
	}
	goto next
}

// key reads `"key" :` at i and returns the offset of the value (after
// the whitespace that follows the colon) and the offset just past the
// key's closing quote.
func key(b []byte, i int) (int, int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, i, fail(i, "want an object key")
	}
	i, err := str(b, i)
	if err != nil {
		return i, i, err
	}
	end := i
	if i < len(b) && b[i] == ':' { // the common case: no space
		return skipSpace(b, i+1), end, nil
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, end, fail(i, "want ':' after an object key")
	}
	return skipSpace(b, i+1), end, nil
}

// keyQuick is key, a key without escapes that ends in its first word
// followed by the colon read inline.
func keyQuick(b []byte, i int) (int, int, error) {
	if len(b)-i > 9 && b[i] == '"' {
		if m := stopsValid(binary.LittleEndian.Uint64(b[i+1:])); m != 0 {
			if j := i + 1 + bits.TrailingZeros64(m)>>3; b[j] == '"' && b[j+1] == ':' {
				return skipSpace(b, j+2), j + 1, nil
			}
		}
	}
	return key(b, i)
}

// skipSpace returns the offset of the first byte from i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func lit(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

func isHex(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 6
}

// str reads a string starting at the quote at i; it returns the offset
// after the closing quote. Invalid UTF-8 is accepted, as encoding/json
// accepts it (and replaces it when decoding).
func str(b []byte, i int) (int, error) {
	start := i
	i++
	for {
		// to the next '"', '\\' or control byte, two words at a time
		for len(b)-i >= 16 {
			m1 := stopsValid(binary.LittleEndian.Uint64(b[i:]))
			m2 := stopsValid(binary.LittleEndian.Uint64(b[i+8:]))
			if m1|m2 != 0 {
				if m1 != 0 {
					i += bits.TrailingZeros64(m1) >> 3
				} else {
					i += 8 + bits.TrailingZeros64(m2)>>3
				}
				goto stop
			}
			i += 16
		}
		for {
			if len(b)-i < 8 {
				for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
					i++
				}
				break
			}
			if m := stopsValid(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
	stop:
		if i >= len(b) {
			return i, fail(start, "unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, fail(i, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, fail(i, "invalid \\u escape")
				}
				i += 6
			default:
				return i, fail(i, "invalid escape")
			}
		default: // c < 0x20
			return i, fail(i, "control character in string")
		}
	}
}

// number reads a JSON number at i.
func number(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, fail(start, "invalid number")
	}
	if c := b[i]; c == '0' {
		i++
	} else if c-'1' < 9 {
		i++
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
	} else {
		return i, fail(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == d {
			return i, fail(start, "invalid number")
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == d {
			return i, fail(start, "invalid number")
		}
	}
	return i, nil
}
