package filter

import (
	"reflect"
	"strconv"
	"testing"
)

// FuzzParsePath: ParsePath never panics, and a parsed path survives
// String: ParsePath(p.String()) is p again (keys, indexes and "#" alike).
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"", "email", "attributes.country", "properties.plan.tier", "orders.sku", "tags.0", "tags.#",
		`a\.b`, `a\\.b`, `a\\\.b`, `\#`, `a.\#`, `a.#.b`, "#", "##", "a..b", ".a", "a.", ".", `a\`, `\\`,
		`tags.\0`, `tags.00`, "tags.007", "tags.123456789", "tags.1234567890", "tags.-1", `a.\#.#`,
		"é.ü", "\xff.\xfe", `a\xb`, "a.b.c.d.e.f.g.h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if p != nil {
				t.Fatalf("ParsePath(%q) = %v and an error %v", s, p, err)
			}
			return
		}
		for i, st := range p {
			if st.Len && i != len(p)-1 {
				t.Fatalf("ParsePath(%q): # not last in %#v", s, p)
			}
			if st.Index >= 0 && strconv.Itoa(st.Index) != st.Key {
				t.Fatalf("ParsePath(%q): step %#v has an index that is not its key", s, st)
			}
		}
		back := p.String()
		q, err := ParsePath(back)
		if err != nil {
			t.Fatalf("ParsePath(%q) = %#v; String() = %q does not parse: %v", s, p, back, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("ParsePath(%q) = %#v; String() = %q parses to %#v", s, p, back, q)
		}
	})
}
