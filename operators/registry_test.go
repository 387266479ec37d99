package operators_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/segmatch/segmatch/operators"
)

// TestRegistryNames checks the alias table's public views against each
// other: every spelling resolves, to one canonical snake_case name whose
// spellings list it; a negative operator's twin is a positive canonical
// operator.
func TestRegistryNames(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	canon := operators.Canonical()
	var all []string
	for _, name := range canon {
		if !snake.MatchString(name) {
			t.Errorf("canonical name %q is not snake_case", name)
		}
		sp := operators.SpellingsOf(name)
		if len(sp) == 0 || sp[0] != name {
			t.Errorf("SpellingsOf(%q) = %q: want the name first", name, sp)
		}
		all = append(all, sp...)
		for _, s := range sp {
			got, ok := operators.CanonicalName(s)
			if !ok || got != name {
				t.Errorf("CanonicalName(%q) = %q, %v; want %q", s, got, ok, name)
			}
			op, ok := operators.Lookup(s)
			if !ok || op.Name != name {
				t.Errorf("Lookup(%q) is not %q", s, name)
			}
			pos, negated, ok := operators.Positive(s)
			switch {
			case !ok:
				t.Errorf("Positive(%q) not found", s)
			case negated != (op.Negates != nil):
				t.Errorf("Positive(%q): negated = %v", s, negated)
			case negated && pos != op.Negates.Name:
				t.Errorf("Positive(%q) = %q, want %q", s, pos, op.Negates.Name)
			case !negated && pos != name:
				t.Errorf("Positive(%q) = %q, want %q", s, pos, name)
			}
			if negated {
				if _, twinNegated, _ := operators.Positive(pos); twinNegated || !slices.Contains(canon, pos) {
					t.Errorf("%q negates %q, which is not a positive canonical operator", s, pos)
				}
			}
		}
	}
	if !slices.Equal(all, operators.Spellings()) {
		t.Errorf("SpellingsOf over Canonical() = %q\nSpellings() = %q", all, operators.Spellings())
	}
	sorted := slices.Sorted(slices.Values(all))
	if !slices.Equal(sorted, operators.Names()) {
		t.Errorf("Names() is not the sorted spellings")
	}
	for _, s := range []string{"", "EQ", "opertor", "not eq"} {
		if _, ok := operators.CanonicalName(s); ok {
			t.Errorf("CanonicalName(%q) found", s)
		}
		if _, _, ok := operators.Positive(s); ok {
			t.Errorf("Positive(%q) found", s)
		}
	}
	if operators.SpellingsOf("=") != nil {
		t.Errorf("SpellingsOf takes canonical names only")
	}
}
