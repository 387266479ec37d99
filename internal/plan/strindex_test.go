package plan

import (
	"fmt"
	"strings"
	"testing"
)

// TestStrIndex: both layouts (direct, when quick separates the keys;
// probed otherwise) answer exactly as the map they were built from, for
// keys present and absent, including the empty string and keys that
// quick cannot tell apart (same length and first, middle and last byte).
func TestStrIndex(t *testing.T) {
	sets := map[string][]string{
		"enum":      {"IT", "DE", "FR", "ES", "US", "GB", "web", "ios", "android", ""},
		"lookalike": {"axxxa", "axyxa", "ayxxa", "axxya", "a", "aa"},
	}
	var many []string
	for i := range 3000 {
		many = append(many, fmt.Sprint("k", i))
	}
	sets["many"] = many
	for name, keys := range sets {
		m := map[string][]int32{}
		for i, k := range keys {
			m[k] = []int32{int32(i)}
		}
		x := newStrIndex(m)
		t.Logf("%s: %d keys, direct %v", name, len(keys), x.direct)
		probes := append([]string{"", "zz", "axxxb", strings.Repeat("x", 40)}, keys...)
		for _, k := range probes {
			want, got := m[k], x.get(k)
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Errorf("%s: get(%q) = %v, want %v", name, k, got, want)
			}
		}
	}
	if x := newStrIndex(map[string][]int32{"axxxa": {1}, "axxya": {2}}); x.direct {
		t.Error("keys quick cannot separate got a direct table")
	}
	var empty strIndex
	if empty.get("x") != nil {
		t.Error("empty index found a key")
	}
}
