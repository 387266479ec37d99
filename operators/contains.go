package operators

import "strings"

// contains: a string field contains the substring; an array field has an
// element equal to it. The value may be a list: any of them.
var opContains = &Operator{Name: "contains", Aliases: []string{"has"}, PrepareScalar: prepareContains, Index: IndexContains}

func prepareContains(a *Arg) (*Scalar, error) {
	subs, err := a.stringOrList(a.IgnoreCase)
	if err != nil {
		return nil, err
	}
	substr, equal := strings.Contains, func(a, b string) bool { return a == b }
	if a.IgnoreCase {
		substr, equal = containsFold, equalFold
		for _, sub := range subs {
			a.Cost += CostFoldPerByte * len(sub) // compared at every position
		}
	}
	if len(subs) == 1 && !a.IgnoreCase { // the common case, without loops
		sub := subs[0]
		return &Scalar{
			Str:     func(s string) bool { return strings.Contains(s, sub) },
			ElemStr: func(s string) bool { return s == sub },
		}, nil
	}
	return &Scalar{
		Str: func(s string) bool {
			for _, sub := range subs {
				if substr(s, sub) {
					return true
				}
			}
			return false
		},
		ElemStr: func(s string) bool {
			for _, sub := range subs {
				if equal(s, sub) {
					return true
				}
			}
			return false
		},
	}, nil
}
