package rawjson

// The validator as it was before it was rewritten for speed (one loop
// over a stack of open containers, a Collector told of every value), kept
// as the reference the new one is checked against: the same answer, the
// same error (offset and message) and the same Collector calls in the
// same order, on every input (FuzzRawJSONValidate, TestAgainstReference).

import (
	"fmt"
	"unsafe"
)

// refValidateCollect is ValidateCollect on the reference validator.
func refValidateCollect(b []byte, c Collector, depth int) error {
	i := refSkipSpace(b, 0)
	if i == len(b) {
		return fail(i, "empty input")
	}
	if b[i] != '{' {
		if err := refValidate(b, nil, 0); err != nil {
			return err
		}
		return ErrNotObject
	}
	return refValidate(b, c, min(depth, MaxCollectDepth))
}

// collecting is validate's bookkeeping for a Collector: the depth of the
// innermost object it descends into (0: none), and per depth that
// object's node, its current member's node and where that member's value
// starts.
type refCollecting struct {
	c     Collector
	s     string // the document
	max   int    // the deepest object offered
	depth int
	obj   [MaxCollectDepth + 1]int32
	mem   [MaxCollectDepth + 1]int32
	start [MaxCollectDepth + 1]int
}

// open notes a container opening at depth d (its own depth).
func (w *refCollecting) open(d int, isObj bool) {
	switch {
	case !isObj || d > w.max:
	case d == 1:
		w.depth, w.obj[1] = 1, 0
	case d-1 == w.depth && w.mem[d-1] >= 0:
		w.depth, w.obj[d] = d, w.mem[d-1]
	}
}

// key offers the member whose raw refKey (quotes included) is b[kS:kE] of
// the object at depth d.
func (w *refCollecting) refKey(d, kS, kE int) {
	if d == w.depth {
		w.mem[d] = w.c.Member(w.obj[d], w.s[kS+1:kE-1])
	}
}

// valueStart and valueEnd bracket a value at depth d (its container's).
func (w *refCollecting) valueStart(d, i int) {
	if d == w.depth && d > 0 {
		w.start[d] = i
	}
}

func (w *refCollecting) valueEnd(d, i int) {
	if w.depth > d {
		w.depth = d
	}
	if d == w.depth && d > 0 && w.mem[d] >= 0 {
		w.c.Value(w.mem[d], w.s[w.start[d]:i])
	}
}

func refValidate(b []byte, c Collector, depth int) error {
	var w *refCollecting
	if c != nil && depth > 0 {
		w = &refCollecting{c: c, max: depth, s: unsafe.String(unsafe.SliceData(b), len(b))}
	}
	// stack of open containers: true for object. Depth is bounded, so a
	// small fixed array covers common documents without allocating.
	var small [64]bool
	stack := small[:0]
	i := refSkipSpace(b, 0)
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
			i = refSkipSpace(b, i+1)
			if i < len(b) && (b[i] == '}' && c == '{' || b[i] == ']' && c == '[') {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				start := i
				var end int
				var err error
				if i, end, err = refKey(b, i); err != nil {
					return err
				}
				if w != nil {
					w.refKey(len(stack), start, end)
				}
			}
			continue
		case c == '"':
			var err error
			if i, err = refStr(b, i); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			var err error
			if i, err = refNumber(b, i); err != nil {
				return err
			}
		case c == 't':
			if !refLit(b, i, "true") {
				return fail(i, "invalid literal")
			}
			i += 4
		case c == 'f':
			if !refLit(b, i, "false") {
				return fail(i, "invalid literal")
			}
			i += 5
		case c == 'n':
			if !refLit(b, i, "null") {
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
			i = refSkipSpace(b, i)
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
				i = refSkipSpace(b, i+1)
				if obj {
					start := i
					var end int
					var err error
					if i, end, err = refKey(b, i); err != nil {
						return err
					}
					if w != nil {
						w.refKey(len(stack), start, end)
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
func refKey(b []byte, i int) (int, int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, i, fail(i, "want an object key")
	}
	i, err := refStr(b, i)
	if err != nil {
		return i, i, err
	}
	end := i
	i = refSkipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, end, fail(i, "want ':' after an object key")
	}
	return refSkipSpace(b, i+1), end, nil
}

func refSkipSpace(b []byte, i int) int {
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

func refLit(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

func refIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str reads a string starting at the quote at i; it returns the offset
// after the closing quote. Invalid UTF-8 is accepted, as encoding/json
// accepts it (and replaces it when decoding).
func refStr(b []byte, i int) (int, error) {
	start := i
	i++
	for i < len(b) {
		i += refPlainRunBytes(b, i)
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
				if len(b)-i < 6 || !refIsHex(b[i+2]) || !refIsHex(b[i+3]) || !refIsHex(b[i+4]) || !refIsHex(b[i+5]) {
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
func refNumber(b []byte, i int) (int, error) {
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

// refPlainRunBytes returns how many bytes from i are plain string content
// (stopping at the first '"', '\\' or control byte), a byte at a time.
func refPlainRunBytes(b []byte, i int) int {
	start := i
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i - start
}
