package operators

import (
	"reflect"
	"strings"
	"testing"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// oldOfRaw is OfRaw before SetRaw's plain-ASCII fast path.
func oldOfRaw(raw string) Value {
	raw = rawjson.Trim(raw)
	if raw == "" {
		return Value{}
	}
	switch raw[0] {
	case '"':
		return Value{kind: String, str: validUTF8(rawjson.Unquote(raw))}
	case 't':
		return Value{kind: Bool, b: true}
	case 'f':
		return Value{kind: Bool}
	case 'n':
		return Value{kind: Null}
	case '{':
		return Value{kind: Object, str: raw}
	case '[':
		return Value{kind: Array, str: raw}
	}
	return Value{kind: Number, num: parseNumber(raw)}
}

// checkSetRaw: SetRaw on a Value left dirty by another kind equals the
// old path, for raw as given and quoted.
func checkSetRaw(t *testing.T, raw string) {
	t.Helper()
	for _, r := range []string{raw, `"` + raw + `"`, " \"" + raw + "\"\n"} {
		want := oldOfRaw(r)
		for _, dirty := range []Value{{}, {kind: Array, str: "[1]", ref: []any{1}, fan: filter.Path{{Key: "x"}}, b: true, num: 3}} {
			v := dirty
			v.SetRaw(r)
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("SetRaw(%q) = %#v, want %#v", r, v, want)
			}
			if got := OfRaw(r); !reflect.DeepEqual(got, want) {
				t.Fatalf("OfRaw(%q) = %#v, want %#v", r, got, want)
			}
		}
	}
}

// TestSetRawFastPath: plain ASCII of every length 0..40, escapes, invalid
// UTF-8, non-ASCII, the other kinds.
func TestSetRawFastPath(t *testing.T) {
	for n := 0; n <= 40; n++ {
		s := strings.Repeat("ab~ ", 11)[:n]
		checkSetRaw(t, s)
		for i := range n {
			for _, c := range []string{"\\n", "\\\\", "\\\"", "\\u00e9", "\\ud800", "\\ud83d\\ude00", "\x80", "\xff", "é", "\u2028", "\x7f"} {
				checkSetRaw(t, s[:i]+c+s[i:])
			}
		}
	}
	for _, raw := range []string{"", " ", `"`, `""`, "true", "false", "null", "0", "-0", "1e400", "-1e400", "12.5", `{"a":1}`, "[1,2]", " [ ] "} {
		checkSetRaw(t, raw)
	}
}

func FuzzSetRaw(f *testing.F) {
	for _, s := range []string{"", "abc", `a\"b`, "\xff", "é", `\u00e9`, "12345678abcdefgh\x80", "null", "1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSetRaw(t, s)
	})
}
