package operators

// affixPrep builds starts_with / ends_with: a string field (or some
// element of an array field) has one of the values as prefix / suffix.
func affixPrep(plain, fold func(s, affix string) bool) func(a *Arg) (*Scalar, error) {
	return func(a *Arg) (*Scalar, error) {
		affixes, err := a.stringOrList(a.IgnoreCase)
		if err != nil {
			return nil, err
		}
		cmp := plain
		if a.IgnoreCase {
			cmp = fold
		}
		return &Scalar{Str: func(s string) bool {
			for _, x := range affixes {
				if cmp(s, x) {
					return true
				}
			}
			return false
		}}, nil
	}
}
