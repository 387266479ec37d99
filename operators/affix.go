package operators

import "strings"

// affixPrep builds starts_with / ends_with: a string field (or some
// element of an array field) has one of the values as prefix / suffix.
func affixPrep(plain, fold func(s, affix string) bool) func(a *Arg) (Test, error) {
	return func(a *Arg) (Test, error) {
		affixes, err := a.stringOrList()
		if err != nil {
			return nil, err
		}
		cmp := plain
		if a.IgnoreCase {
			cmp = fold
		}
		return func(v Value, _ Context) bool {
			return anyElem(v, func(e Value) bool {
				if e.kind != String {
					return false
				}
				for _, x := range affixes {
					if cmp(e.str, x) {
						return true
					}
				}
				return false
			})
		}, nil
	}
}

var _ = strings.HasPrefix
