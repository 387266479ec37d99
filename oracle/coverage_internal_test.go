package oracle

import (
	"testing"

	"github.com/segmatch/segmatch/operators"
)

// TestBuildersCoverRegistry: every operator of the registry has a
// builder here (a negative one through its positive twin), and every
// builder is a positive operator of the registry. An operator added to
// the registry without one fails here, by name.
func TestBuildersCoverRegistry(t *testing.T) {
	want := map[string]bool{}
	for _, name := range operators.Canonical() {
		pos, negated, ok := operators.Positive(name)
		if !ok {
			t.Fatalf("registry: canonical %q does not resolve", name)
		}
		want[pos] = true
		if _, ok := builders[pos]; !ok {
			if negated {
				t.Errorf("oracle: no builder for operator %q (the positive twin of %q)", pos, name)
			} else {
				t.Errorf("oracle: no builder for operator %q", name)
			}
		}
	}
	for name := range builders {
		if !want[name] {
			t.Errorf("oracle: builder %q is not a positive operator of the registry", name)
		}
	}
}
