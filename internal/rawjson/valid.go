// Package rawjson checks raw contact documents before they are read with
// gjson: the grammar of encoding/json, its nesting limit, without
// recursion (a hostile "[[[[..." must not exhaust the stack) and without
// allocating on well-formed input.
package rawjson

import (
	"errors"
	"fmt"
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

// collecting is validate's bookkeeping for a Collector: the depth of the
// innermost object it descends into (0: none), and per depth that
// object's node, its current member's node and where that member's value
// starts.
type collecting struct {
	c     Collector
	s     string // the document
	max   int    // the deepest object offered
	depth int
	obj   [MaxCollectDepth + 1]int32
	mem   [MaxCollectDepth + 1]int32
	start [MaxCollectDepth + 1]int
}

// open notes a container opening at depth d (its own depth).
func (w *collecting) open(d int, isObj bool) {
	switch {
	case !isObj || d > w.max:
	case d == 1:
		w.depth, w.obj[1] = 1, 0
	case d-1 == w.depth && w.mem[d-1] >= 0:
		w.depth, w.obj[d] = d, w.mem[d-1]
	}
}

// key offers the member whose raw key (quotes included) is b[kS:kE] of
// the object at depth d.
func (w *collecting) key(d, kS, kE int) {
	if d == w.depth {
		w.mem[d] = w.c.Member(w.obj[d], w.s[kS+1:kE-1])
	}
}

// valueStart and valueEnd bracket a value at depth d (its container's).
func (w *collecting) valueStart(d, i int) {
	if d == w.depth && d > 0 {
		w.start[d] = i
	}
}

func (w *collecting) valueEnd(d, i int) {
	if w.depth > d {
		w.depth = d
	}
	if d == w.depth && d > 0 && w.mem[d] >= 0 {
		w.c.Value(w.mem[d], w.s[w.start[d]:i])
	}
}

func validate(b []byte, c Collector, depth int) error {
	var w *collecting
	if c != nil && depth > 0 {
		w = &collecting{c: c, max: depth, s: unsafe.String(unsafe.SliceData(b), len(b))}
	}
	// stack of open containers: true for object. Depth is bounded, so a
	// small fixed array covers common documents without allocating.
	var small [64]bool
	stack := small[:0]
	i := skipSpace(b, 0)
	if i == len(b) {
		return fail(i, "empty input")
	}
	for {
		// expect a value at i
		if i >= len(b) {
			return fail(i, "unexpected end of input")
		}
		if w != nil {
			w.valueStart(len(stack), i)
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= MaxDepth {
				return fail(i, "nested too deep")
			}
			stack = append(stack, c == '{')
			if w != nil {
				w.open(len(stack), c == '{')
			}
			i = skipSpace(b, i+1)
			if i < len(b) && (b[i] == '}' && c == '{' || b[i] == ']' && c == '[') {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				start := i
				var end int
				var err error
				if i, end, err = key(b, i); err != nil {
					return err
				}
				if w != nil {
					w.key(len(stack), start, end)
				}
			}
			continue
		case c == '"':
			var err error
			if i, err = str(b, i); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			var err error
			if i, err = number(b, i); err != nil {
				return err
			}
		case c == 't':
			if !lit(b, i, "true") {
				return fail(i, "invalid literal")
			}
			i += 4
		case c == 'f':
			if !lit(b, i, "false") {
				return fail(i, "invalid literal")
			}
			i += 5
		case c == 'n':
			if !lit(b, i, "null") {
				return fail(i, "invalid literal")
			}
			i += 4
		default:
			return fail(i, fmt.Sprintf("unexpected %q", c))
		}
		if w != nil {
			w.valueEnd(len(stack), i)
		}
		// after a value: close containers or move to the next element
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				if i != len(b) {
					return fail(i, "data after the top-level value")
				}
				return nil
			}
			if i >= len(b) {
				return fail(i, "unexpected end of input")
			}
			obj := stack[len(stack)-1]
			switch {
			case b[i] == ',':
				i = skipSpace(b, i+1)
				if obj {
					start := i
					var end int
					var err error
					if i, end, err = key(b, i); err != nil {
						return err
					}
					if w != nil {
						w.key(len(stack), start, end)
					}
				}
			case b[i] == '}' && obj, b[i] == ']' && !obj:
				stack = stack[:len(stack)-1]
				i++
				if w != nil {
					w.valueEnd(len(stack), i)
				}
				continue
			default:
				return fail(i, fmt.Sprintf("unexpected %q", b[i]))
			}
			break
		}
	}
}

// key reads `"key" :` at i and returns the offset of the value and the
// offset just past the key's closing quote.
func key(b []byte, i int) (int, int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, i, fail(i, "want an object key")
	}
	i, err := str(b, i)
	if err != nil {
		return i, i, err
	}
	end := i
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, end, fail(i, "want ':' after an object key")
	}
	return skipSpace(b, i+1), end, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func lit(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str reads a string starting at the quote at i; it returns the offset
// after the closing quote. Invalid UTF-8 is accepted, as encoding/json
// accepts it (and replaces it when decoding).
func str(b []byte, i int) (int, error) {
	start := i
	i++
	for i < len(b) {
		i += plainRunBytes(b, i)
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
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
		case c < 0x20:
			return i, fail(i, "control character in string")
		default:
			i++
		}
	}
	return i, fail(start, "unterminated string")
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
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return i, fail(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, fail(start, "invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, fail(start, "invalid number")
		}
	}
	return i, nil
}
