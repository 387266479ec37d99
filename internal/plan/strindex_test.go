package plan

import (
	"fmt"
	"testing"
)

// TestStrIndex: a field index's strings answer as the map they were
// built from, for keys present and absent.
func TestStrIndex(t *testing.T) {
	m := map[string][]int32{"IT": {1}, "DE": {2, 3}, "": {4}}
	x := newStrIndex(m)
	for _, k := range []string{"IT", "DE", "", "FR", "ITA"} {
		if want, got := m[k], x.get(k); fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("get(%q) = %v, want %v", k, got, want)
		}
	}
	var empty strIndex
	if empty.get("x") != nil {
		t.Error("an empty index found a key")
	}
}
