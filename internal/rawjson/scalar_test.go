package rawjson

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// checkScalar: ReadScalar, Elements and IsCompact say what encoding/json
// does of b (FuzzRawJSONValidate runs it on every input).
func checkScalar(t *testing.T, b []byte) {
	t.Helper()
	var x any
	decodeErr := json.Unmarshal(b, &x)
	if s, ok := ReadScalar(string(b)); ok {
		if decodeErr != nil {
			t.Fatalf("ReadScalar(%q) = %+v; encoding/json: %v", b, s, decodeErr)
		}
		var got any
		switch s.Kind {
		case NullScalar:
		case BoolScalar:
			got = s.Bool
		case NumberScalar:
			got = s.Num
		case StringScalar:
			got = s.Str
		}
		if !reflect.DeepEqual(got, x) && !(s.Kind == NumberScalar && math.IsNaN(s.Num)) {
			t.Fatalf("ReadScalar(%q) = %#v; encoding/json: %#v", b, got, x)
		}
	} else if decodeErr == nil {
		switch x.(type) {
		case []any, map[string]any:
		default:
			t.Fatalf("ReadScalar(%q) refused the scalar encoding/json reads as %#v", b, x)
		}
	}
	var raws []json.RawMessage
	rawsErr := json.Unmarshal(b, &raws)
	if elems, ok := Elements(string(b)); ok {
		if rawsErr != nil {
			t.Fatalf("Elements(%q) = %q; encoding/json: %v", b, elems, rawsErr)
		}
		if len(elems) != len(raws) {
			t.Fatalf("Elements(%q) = %q; encoding/json: %q", b, elems, raws)
		}
		for i := range elems {
			if elems[i] != string(raws[i]) {
				t.Fatalf("Elements(%q)[%d] = %q; encoding/json: %q", b, i, elems[i], raws[i])
			}
		}
	} else if rawsErr == nil && raws != nil {
		t.Fatalf("Elements(%q) refused the array encoding/json splits into %q", b, raws)
	}
	if json.Valid(b) {
		var c bytes.Buffer
		_ = json.Compact(&c, b)
		if IsCompact(string(b)) != (c.String() == string(b)) {
			t.Fatalf("IsCompact(%q) = %v; json.Compact gives %q", b, IsCompact(string(b)), c.String())
		}
	}
}

func TestScalar(t *testing.T) {
	for _, s := range []string{
		`null`, ` true `, `false`, `0`, `-0`, `1.5e3`, `1e400`, `-1e400`, `"IT"`, `"a\"b"`, `"\u00e9"`, `"\ud800"`, "\"\xff\"",
		`"New York"`, `[]`, `[ ]`, `["IT", "DE" ,"FR"]`, `[1,[2,3],{"a":1}]`, `{"a":1}`, `[1,]`, `tru`, ``, ` `, `"`, `[`, `0x10`, `+1`,
		"\t[\n1\n]\n", `[1e400]`, `{"a": "b c"}`,
	} {
		checkScalar(t, []byte(s))
	}
	if s, ok := ReadScalar(` "IT" `); !ok || s.Kind != StringScalar || s.Str != "IT" {
		t.Fatalf(`ReadScalar(" \"IT\" ") = %+v, %v`, s, ok)
	}
	if _, ok := ReadScalar(`1e400`); ok {
		t.Fatal("ReadScalar(1e400): a number outside float64 is encoding/json's to refuse")
	}
	if e, ok := Elements(`["IT", 3]`); !ok || len(e) != 2 || e[0] != `"IT"` || e[1] != `3` {
		t.Fatalf("Elements = %q, %v", e, ok)
	}
}
