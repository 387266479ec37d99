package mongogen

import (
	"testing"

	"github.com/segmatch/segmatch/operators"
)

// TestBuildersCoverRegistry: every positive operator of the registry has
// a builder and a line in the pushdown table (kinds, with a note), and
// neither names anything else. An operator added to the registry without
// a mongogen entry fails here, by name.
func TestBuildersCoverRegistry(t *testing.T) {
	want := map[string]bool{}
	for _, name := range operators.Canonical() {
		pos, _, ok := operators.Positive(name)
		if !ok {
			t.Fatalf("registry: canonical %q does not resolve", name)
		}
		want[pos] = true
		if _, ok := builders[pos]; !ok {
			t.Errorf("mongogen: operator %q (as %q) has no builder", pos, name)
		}
		k, ok := kinds[pos]
		if !ok {
			t.Errorf("mongogen: operator %q (as %q) is not in the pushdown table (kinds)", pos, name)
		} else if k.note == "" {
			t.Errorf("mongogen: operator %q has no note in the pushdown table", pos)
		}
	}
	for name := range builders {
		if !want[name] {
			t.Errorf("mongogen: builder %q is not a positive operator of the registry", name)
		}
	}
	for name := range kinds {
		if !want[name] {
			t.Errorf("mongogen: kinds %q is not a positive operator of the registry", name)
		}
	}
}
