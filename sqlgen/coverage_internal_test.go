package sqlgen

import (
	"testing"

	"github.com/segmatch/segmatch/operators"
)

// TestBuildersCoverRegistry: every operator of the registry is either
// pushed down (a builder for it, or for its positive twin) or listed in
// notPushable with a reason, never both; neither table names anything
// that is not a positive operator of the registry. An operator added to
// the registry without either fails here, by name.
func TestBuildersCoverRegistry(t *testing.T) {
	want := map[string]bool{}
	for _, name := range operators.Canonical() {
		pos, _, ok := operators.Positive(name)
		if !ok {
			t.Fatalf("registry: canonical %q does not resolve", name)
		}
		want[pos] = true
		_, pushed := builders[pos]
		why, listed := notPushable[pos]
		switch {
		case pushed && listed:
			t.Errorf("sqlgen: operator %q has a builder and is listed as not pushable", pos)
		case !pushed && !listed:
			t.Errorf("sqlgen: operator %q (as %q) is neither pushed down nor listed in notPushable", pos, name)
		case listed && why == "":
			t.Errorf("sqlgen: operator %q is not pushable without a reason", pos)
		}
	}
	for name := range builders {
		if !want[name] {
			t.Errorf("sqlgen: builder %q is not a positive operator of the registry", name)
		}
	}
	for name := range notPushable {
		if !want[name] {
			t.Errorf("sqlgen: notPushable %q is not a positive operator of the registry", name)
		}
	}
}
