package operators

import "strings"

// contains: a string field contains the substring; an array field has an
// element equal to it. The value may be a list: any of them.
var opContains = &Operator{Name: "contains", Aliases: []string{"has"}, Prepare: prepareContains}

func prepareContains(a *Arg) (Test, error) {
	subs, err := a.stringOrList()
	if err != nil {
		return nil, err
	}
	fold := a.IgnoreCase
	return func(v Value, _ Context) bool {
		switch v.kind {
		case String:
			for _, sub := range subs {
				if fold && containsFold(v.str, sub) || !fold && strings.Contains(v.str, sub) {
					return true
				}
			}
		case Array:
			return v.Any(func(e Value) bool {
				if e.kind != String {
					return false
				}
				for _, sub := range subs {
					if fold && equalFold(e.str, sub) || !fold && e.str == sub {
						return true
					}
				}
				return false
			})
		}
		return false
	}, nil
}
