package rawjson

import (
	"strconv"
	"strings"
	"unsafe"
)

// ScalarKind is the JSON type of a Scalar.
type ScalarKind uint8

// The kinds of scalar ReadScalar reads.
const (
	NullScalar ScalarKind = iota
	BoolScalar
	NumberScalar
	StringScalar
)

// Scalar is one JSON scalar decoded.
type Scalar struct {
	Kind ScalarKind
	Bool bool
	Num  float64
	Str  string
}

// ReadScalar decodes raw, one JSON scalar with optional surrounding
// whitespace, to what json.Unmarshal into an any makes of it (a string
// repaired of invalid UTF-8, a number as float64), without reflection:
// segments decode their values at every compile. ok is false when raw is
// not exactly one valid JSON scalar, or is a number outside float64; the
// caller then asks encoding/json, for its verdict and its error.
func ReadScalar(raw string) (s Scalar, ok bool) {
	raw = Trim(raw)
	if raw == "" || Validate(unsafeBytes(raw)) != nil {
		return Scalar{}, false
	}
	switch c := raw[0]; {
	case c == 'n':
		return Scalar{Kind: NullScalar}, true
	case c == 't':
		return Scalar{Kind: BoolScalar, Bool: true}, true
	case c == 'f':
		return Scalar{Kind: BoolScalar}, true
	case c == '"':
		return Scalar{Kind: StringScalar, Str: RepairUTF8(Unquote(raw))}, true
	case c == '-' || c >= '0' && c <= '9':
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil { // out of range: encoding/json's error says so
			return Scalar{}, false
		}
		return Scalar{Kind: NumberScalar, Num: f}, true
	}
	return Scalar{}, false // an array or an object
}

// Elements returns the raw text of each element of raw, one JSON array
// with optional surrounding whitespace (as json.Unmarshal into a
// []json.RawMessage splits it); ok is false when raw is anything else.
func Elements(raw string) (elems []string, ok bool) {
	raw = Trim(raw)
	if !strings.HasPrefix(raw, "[") || Validate(unsafeBytes(raw)) != nil {
		return nil, false
	}
	ForEachElem(raw, func(v string) bool {
		elems = append(elems, v)
		return false
	})
	return elems, true
}

// IsCompact reports whether the valid JSON raw has no whitespace outside
// its strings: json.Compact would return it unchanged.
func IsCompact(raw string) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			i = skipString(raw, i) - 1
		}
	}
	return true
}

// unsafeBytes views s as bytes for a reader that never writes (Validate).
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
