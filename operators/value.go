// Package operators holds every operator of docs/semantics.md, one file each,
// and the Value they test. An operator prepares its filter value once, at
// compile time, into a Test; the Test owns what happens on a missing or
// null field, on arrays and on numeric strings, and never fails.
package operators

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// Kind is the JSON type of a Value. Missing and Null are different kinds.
type Kind uint8

const (
	Missing Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"missing", "null", "bool", "number", "string", "array", "object"}

func (k Kind) String() string { return kindNames[k] }

// Value is what a field path reads from a contact: a small tagged value
// over either a decoded Go value (map[string]any, []any, ...) or raw JSON.
// The zero Value is Missing. A Value borrows from the contact it was read
// from and is only valid while that contact is.
type Value struct {
	kind Kind
	b    bool
	num  float64
	str  string      // String: the text; Array/Object from JSON: the raw JSON
	ref  any         // Array/Object from Go: the []any or map[string]any
	fan  filter.Path // non-nil: a fan-out; elements are fan read from each element of the array
}

// Kind reports the value's type.
func (v Value) Kind() Kind { return v.kind }

// IsNil reports a missing or null value.
func (v Value) IsNil() bool { return v.kind <= Null }

// Bool returns the value of a Bool.
func (v Value) Bool() bool { return v.b }

// Num returns the value of a Number.
func (v Value) Num() float64 { return v.num }

// Str returns the text of a String.
func (v Value) Str() string { return v.str }

// Number reads the value as a number: a Number, or a String that is a
// decimal number in its entirety (docs/semantics.md rule 1).
func (v Value) Number() (float64, bool) {
	switch v.kind {
	case Number:
		return v.num, true
	case String:
		return ParseDecimal(v.str)
	}
	return 0, false
}

// MissingValue is the reading of an absent field.
var MissingValue = Value{}

// Of reads a decoded Go value: the shapes encoding/json produces, plus Go
// integers and json.Number. Other types read as an opaque object: present,
// but matching no comparison.
func Of(x any) Value {
	switch t := x.(type) {
	case nil:
		return Value{kind: Null}
	case string:
		return Value{kind: String, str: t}
	case float64:
		return Value{kind: Number, num: t}
	case bool:
		return Value{kind: Bool, b: t}
	case map[string]any:
		return Value{kind: Object, ref: x}
	case []any:
		return Value{kind: Array, ref: x}
	case int:
		return Value{kind: Number, num: float64(t)}
	case int64:
		return Value{kind: Number, num: float64(t)}
	case int32:
		return Value{kind: Number, num: float64(t)}
	case uint:
		return Value{kind: Number, num: float64(t)}
	case uint64:
		return Value{kind: Number, num: float64(t)}
	case uint32:
		return Value{kind: Number, num: float64(t)}
	case int16:
		return Value{kind: Number, num: float64(t)}
	case int8:
		return Value{kind: Number, num: float64(t)}
	case uint16:
		return Value{kind: Number, num: float64(t)}
	case uint8:
		return Value{kind: Number, num: float64(t)}
	case float32:
		return Value{kind: Number, num: float64(t)}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !math.IsInf(f, 0) {
			return Value{kind: String, str: string(t)}
		}
		return Value{kind: Number, num: f}
	}
	return Value{kind: Object}
}

// OfRaw reads the raw text of one JSON value from a document that
// rawjson.Validate accepted (surrounding whitespace allowed). Strings are
// repaired to valid UTF-8 the way encoding/json does, so raw and decoded
// contacts read alike; a number beyond float64's range reads as ±Inf.
func OfRaw(raw string) Value {
	var v Value
	v.SetRaw(raw)
	return v
}

// SetRaw sets v to OfRaw(raw) in place: what a reader filling a buffer of
// values calls, without copying a Value through each return.
func (v *Value) SetRaw(raw string) {
	raw = rawjson.Trim(raw)
	v.b, v.num, v.ref, v.fan = false, 0, nil, nil
	if raw == "" {
		v.kind, v.str = Missing, ""
		return
	}
	switch raw[0] {
	case '"':
		v.kind = String
		if len(raw) >= 2 && rawjson.PlainASCII(raw[1:len(raw)-1]) {
			v.str = raw[1 : len(raw)-1]
		} else {
			v.str = validUTF8(rawjson.Unquote(raw))
		}
		return
	case 't':
		v.kind, v.b = Bool, true
	case 'f':
		v.kind = Bool
	case 'n':
		v.kind = Null
	case '{':
		v.kind, v.str = Object, raw
		return
	case '[':
		v.kind, v.str = Array, raw
		return
	default:
		v.kind, v.num = Number, parseNumber(raw)
	}
	v.str = ""
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does
// when it decodes a string. It allocates only for invalid input.
func validUTF8(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			if utf8.ValidString(s[i:]) {
				return s
			}
			return rawjson.RepairUTF8(s)
		}
	}
	return s
}

// Any calls fn for each element of an array (for a fan-out, each value the
// rest of the path reaches, with arrays flattened one level) until fn
// returns true, and reports whether it did. A non-array calls nothing.
func (v Value) Any(fn func(Value) bool) bool {
	if v.kind != Array {
		return false
	}
	if v.fan != nil {
		return v.eachFanElem(func(e Value) bool {
			r := e.get(v.fan)
			switch {
			case r.kind == Missing:
				return false
			case r.kind == Array:
				return r.Any(fn)
			}
			return fn(r)
		})
	}
	return v.eachArrayElem(fn)
}

// eachArrayElem iterates a real (not fan-out) array until fn returns
// true, and reports whether it did.
func (v Value) eachArrayElem(fn func(Value) bool) bool {
	if v.ref != nil {
		for _, e := range v.ref.([]any) {
			if fn(Of(e)) {
				return true
			}
		}
		return false
	}
	return rawjson.ForEachElem(v.str, func(e string) bool { return fn(OfRaw(e)) })
}

// Len is the number of elements of an array or members of an object
// (for a fan-out, the number of values reached).
func (v Value) Len() int {
	n := 0
	switch {
	case v.kind == Array && v.fan == nil && v.ref != nil:
		return len(v.ref.([]any))
	case v.kind == Array:
		v.Any(func(Value) bool { n++; return false })
	case v.kind == Object && v.ref != nil:
		if m, ok := v.ref.(map[string]any); ok {
			return len(m)
		}
		return 1 // an opaque Go value
	case v.kind == Object:
		rawjson.ForEachMember(v.str, func(_, _ string) bool { n++; return true })
	}
	return n
}

// Interface returns the value as encoding/json would decode it (it
// decodes raw JSON, so it allocates); Missing is nil, as is Null.
func (v Value) Interface() any {
	switch v.kind {
	case Null, Missing:
		return nil
	case Bool:
		return v.b
	case Number:
		return v.num
	case String:
		return v.str
	}
	if v.fan != nil {
		var out []any
		v.Any(func(e Value) bool { out = append(out, e.Interface()); return false })
		return out
	}
	if v.ref != nil {
		return v.ref
	}
	var x any
	if err := json.Unmarshal([]byte(v.str), &x); err != nil {
		return nil
	}
	return x
}
