package operators

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Scalar is the shape most operators have: a test of one string, number
// or bool, with a fixed answer on a missing or null field. The rest of the
// behaviour follows from it, the same for every such operator: an array
// field matches when some element (a scalar, not a nested array) passes
// (rule 2); an object never matches. Declaring an operator this way also
// lets the evaluator call it on a contact's raw scalar without building a
// Value, the hot path.
type Scalar struct {
	Str  func(s string) bool  // nil: strings never match
	Num  func(f float64) bool // nil: numbers never match
	Bool func(b bool) bool    // nil: bools never match
	Nil  bool                 // the answer on missing or null
	// ElemStr, when set, tests a string element of an array field instead
	// of Str (contains: substring of a string, but equality of an element).
	ElemStr func(s string) bool
}

// Test is the general form of the scalar test.
func (s *Scalar) Test(v Value, _ Context) bool { return s.TestValue(&v) }

// TestValue is Test on a value held elsewhere (no copy).
func (s *Scalar) TestValue(v *Value) bool {
	switch v.kind {
	case Missing, Null:
		return s.Nil
	case Array:
		return v.Any(s.arrayElem)
	case String:
		return s.Str != nil && s.Str(v.str)
	}
	return s.elem(*v)
}

// arrayElem tests one element of an array field.
func (s *Scalar) arrayElem(v Value) bool {
	if v.kind == String && s.ElemStr != nil {
		return s.ElemStr(v.str)
	}
	return s.elem(v)
}

func (s *Scalar) elem(v Value) bool {
	switch v.kind {
	case String:
		return s.Str != nil && s.Str(v.str)
	case Number:
		return s.Num != nil && s.Num(v.num)
	case Bool:
		return s.Bool != nil && s.Bool(v.b)
	}
	return false
}

// Go applies the test to a decoded contact's field, reading scalars
// directly; generic reports that the field needs the general form (a
// fan-out, an index, a length).
func (s *Scalar) Go(root any, p filter.Path) (result, generic bool) {
	cur := root
	for i := range p {
		m, ok := cur.(map[string]any)
		if !ok || p[i].Len {
			return false, true
		}
		if cur, ok = m[p[i].Key]; !ok {
			return s.Nil, false
		}
	}
	return s.goValue(cur)
}

// GoRestFunc is the test specialised for the rest of a path below a
// top-level member already looked up (x, found): the evaluator looks each
// top-level key up once per contact, whatever number of fields start with
// it.
func (s *Scalar) GoRestFunc(rest filter.Path) func(x any, found bool) (result, generic bool) {
	for _, st := range rest {
		if st.Len {
			return func(any, bool) (bool, bool) { return false, true }
		}
	}
	switch len(rest) {
	case 0:
		return func(x any, found bool) (bool, bool) {
			if !found {
				return s.Nil, false
			}
			return s.goValue(x)
		}
	case 1:
		k := rest[0].Key
		return func(x any, found bool) (bool, bool) {
			if !found {
				return s.Nil, false
			}
			m, ok := x.(map[string]any)
			if !ok {
				return false, true
			}
			if x, ok = m[k]; !ok {
				return s.Nil, false
			}
			if str, ok := x.(string); ok && s.Str != nil { // the common case, inline
				return s.Str(str), false
			}
			return s.goValue(x)
		}
	}
	return func(x any, found bool) (bool, bool) {
		if !found {
			return s.Nil, false
		}
		return s.Go(x, rest)
	}
}

// goValue tests a field's decoded value.
func (s *Scalar) goValue(x any) (result, generic bool) {
	switch t := x.(type) {
	case string:
		return s.Str != nil && s.Str(t), false
	case float64:
		return s.Num != nil && s.Num(t), false
	case map[string]any:
		return false, false
	case []any:
		elemStr := s.ElemStr
		if elemStr == nil {
			elemStr = s.Str
		}
		for _, e := range t {
			if str, ok := e.(string); ok {
				if elemStr != nil && elemStr(str) {
					return true, false
				}
			} else if s.goElem(e) {
				return true, false
			}
		}
		return false, false
	case bool:
		return s.Bool != nil && s.Bool(t), false
	case nil:
		return s.Nil, false
	}
	return false, true
}

func (s *Scalar) goElem(e any) bool {
	switch t := e.(type) {
	case string:
		if s.ElemStr != nil {
			return s.ElemStr(t)
		}
		return s.Str != nil && s.Str(t)
	case float64:
		return s.Num != nil && s.Num(t)
	case bool:
		return s.Bool != nil && s.Bool(t)
	case nil, map[string]any, []any:
		return false
	}
	return s.arrayElem(Of(e))
}

// Raw applies the test to a raw value's text (from rawjson), reading
// scalars directly; generic reports that it needs the general form.
func (s *Scalar) Raw(raw string, found bool) (result, generic bool) {
	if !found {
		return s.Nil, false
	}
	raw = rawjson.Trim(raw)
	if raw == "" {
		return s.Nil, false
	}
	switch c := raw[0]; {
	case c == '"':
		return s.Str != nil && withString(raw, s.Str), false
	case c == 't' || c == 'f':
		return s.Bool != nil && s.Bool(c == 't'), false
	case c == 'n':
		return s.Nil, false
	case c == '{':
		return false, false
	case c == '[':
		return rawjson.ForEachElem(raw, s.rawElem), false
	}
	return s.Num != nil && s.Num(parseNumber(raw)), false
}

func (s *Scalar) rawElem(raw string) bool {
	switch c := raw[0]; {
	case c == '"':
		if s.ElemStr != nil {
			return withString(raw, s.ElemStr)
		}
		return s.Str != nil && withString(raw, s.Str)
	case c == 't' || c == 'f':
		return s.Bool != nil && s.Bool(c == 't')
	case c == 'n' || c == '{' || c == '[':
		return false
	}
	return s.Num != nil && s.Num(parseNumber(raw))
}

// LookupRaw follows a path of object steps through validated raw JSON:
// the value's text and whether it was found; generic reports a step the
// general form must take (an array, a length).
func LookupRaw(root string, p filter.Path) (val string, found, generic bool) {
	cur := root
	for i := range p {
		cur = rawjson.Trim(cur)
		if cur == "" || cur[0] != '{' || p[i].Len {
			return "", false, true
		}
		v, ok := rawjson.Member(cur, p[i].Key)
		if !ok {
			return "", false, false
		}
		cur = v
	}
	return cur, true, false
}

// withString calls test with the text of the raw JSON string raw. Text
// that needs decoding (escapes, invalid UTF-8) is decoded into a pooled
// buffer for the call only: a Scalar's string tests are pure and keep
// nothing, so a megabyte of escapes read by every condition allocates
// nothing (each condition decoding its own copy allocated 6 GB on a
// 100 KB contact).
func withString(raw string, test func(string) bool) bool {
	inner := raw[1 : len(raw)-1]
	if plainString(inner) {
		return test(inner)
	}
	bp := stringBufs.Get().(*[]byte)
	b := slices.Grow((*bp)[:0], 3*len(inner)) // at most 3 bytes a byte (U+FFFD): grown once
	b = rawjson.AppendString(b, raw)
	ok := test(unsafe.String(unsafe.SliceData(b), len(b)))
	*bp = b[:0] // kept however large: the pool lets go of it at the next collections
	stringBufs.Put(bp)
	return ok
}

// plainString: no escape and valid UTF-8, so the raw text is the string.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c >= utf8.RuneSelf {
			return strings.IndexByte(s[i:], '\\') < 0 && utf8.ValidString(s[i:])
		}
	}
	return true
}

var stringBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
