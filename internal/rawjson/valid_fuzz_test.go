package rawjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzRawJSONValidate checks the package's contract: Validate accepts
// exactly what encoding/json's json.Valid accepts (same grammar, same
// nesting limit of 10000), ValidateObject accepts exactly the valid
// documents whose top-level value is an object, and ValidateCollect offers
// a Collector the members the scanner finds, in the same order.
func FuzzRawJSONValidate(f *testing.F) {
	for _, s := range []string{
		``, ` `, "\t\r\n", `{}`, `[]`, `{"a":1}`, `[1,2,3]`, `"x"`, `0`, `-0`, `-0.0e-0`, `1e400`, `-1E+400`,
		`01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `0x10`, `NaN`, `Infinity`, `-Infinity`,
		`true`, `false`, `null`, `tru`, `nul`, `nulll`, `{"a":}`, `{"a" 1}`, `{a:1}`, `{"a":1,}`, `[1,]`, `[,1]`,
		`{"a":1}{}`, `{"a":1} x`, `"\u00e9"`, `"\ud800"`, `"\ud800\u0041"`, `"\uZZZZ"`, `"\x"`, "\"\x00\"", "\"\xff\xfe\"",
		`"\/\b\f\n\r\t\\\""`, "\"unterminated", `{"a":[{"b":[null,{"c":"d"}]}]}`, "\xef\xbb\xbf{}", "{}\x00",
		`[` + strings.Repeat(`[`, 9998) + strings.Repeat(`]`, 9999),
		`[` + strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 10000),
		strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkReference(t, b)
		err := Validate(b)
		want := json.Valid(b)
		if (err == nil) != want {
			t.Fatalf("Validate(%q) = %v; json.Valid = %v", b, err, want)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Validate(%q) = %v, not wrapping ErrMalformed", b, err)
		}
		oerr := ValidateObject(b)
		isObj := want && strings.TrimLeft(string(b), " \t\r\n")[0] == '{'
		switch {
		case isObj && oerr != nil:
			t.Fatalf("ValidateObject(%q) = %v for an object", b, oerr)
		case !want && !errors.Is(oerr, ErrMalformed):
			t.Fatalf("ValidateObject(%q) = %v, want ErrMalformed", b, oerr)
		case want && !isObj && !errors.Is(oerr, ErrNotObject):
			t.Fatalf("ValidateObject(%q) = %v, want ErrNotObject", b, oerr)
		}
		if isObj {
			checkCollect(t, b)
		}
		if want && strings.TrimLeft(string(b), " \t\r\n")[0] == '[' {
			checkFlat(t, b)
		}
		checkScalar(t, b)
	})
}

// checkFlat: ForEachFlat gives, in order, the non-array leaves of the
// decoded array's nested arrays.
func checkFlat(t *testing.T, b []byte) {
	var decoded []any
	if json.Unmarshal(b, &decoded) != nil {
		return // a number out of float64 range
	}
	var want []any
	var flat func(xs []any)
	flat = func(xs []any) {
		for _, x := range xs {
			if a, ok := x.([]any); ok {
				flat(a)
			} else {
				want = append(want, x)
			}
		}
	}
	flat(decoded)
	var got []any
	ForEachFlat(string(b), func(e string) bool {
		var v any
		if err := json.Unmarshal([]byte(e), &v); err != nil {
			t.Fatalf("ForEachFlat(%q) gave %q: %v", b, e, err)
		}
		got = append(got, v)
		return false
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ForEachFlat(%q) = %v; want %v", b, got, want)
	}
}
