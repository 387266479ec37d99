package rawjson

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString: AppendString is RepairUTF8(Unquote(raw)), and what
// encoding/json decodes, for every valid JSON string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{`""`, `"a"`, `"\n\t\"\\\/\b\f\r"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\udfffA"`,
		`"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, "\"\xff\xfeA\"", "\"é\xc3\"", `"\u0000"`, `"\uD800\uDC00"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) || len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' { // one string token, as callers pass it
			return
		}
		got := string(AppendString(nil, raw))
		if want := RepairUTF8(Unquote(raw)); got != want {
			t.Fatalf("AppendString(%q) = %q; RepairUTF8(Unquote) = %q", raw, got, want)
		}
		var dec string
		if err := json.Unmarshal([]byte(raw), &dec); err == nil && dec != got {
			t.Fatalf("AppendString(%q) = %q; encoding/json = %q", raw, got, dec)
		}
	})
}
