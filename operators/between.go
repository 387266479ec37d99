package operators

import "strings"

// between: lo <= field <= hi, both bounds numbers or both strings.
var opBetween = &Operator{Name: "between", PrepareScalar: prepareBetween}

func prepareBetween(a *Arg) (*Scalar, error) {
	raws, err := a.list("[lo, hi]")
	if err != nil {
		return nil, err
	}
	if len(raws) != 2 {
		return nil, a.Errorf("", "want exactly two bounds [lo, hi], got %d", len(raws))
	}
	lo, err := a.ordered(raws[0], "/0")
	if err != nil {
		return nil, err
	}
	hi, err := a.ordered(raws[1], "/1")
	if err != nil {
		return nil, err
	}
	if lo.kind != hi.kind {
		return nil, a.Errorf("", "both bounds must be numbers or both strings")
	}
	if lo.kind == Number {
		if lo.num > hi.num {
			return nil, a.Errorf("", "lower bound is greater than upper bound")
		}
		in := func(f float64) bool { return lo.num <= f && f <= hi.num }
		return &Scalar{Num: in, Str: func(s string) bool { f, ok := ParseDecimal(s); return ok && in(f) }}, nil
	}
	if lo.str > hi.str {
		return nil, a.Errorf("", "lower bound is greater than upper bound")
	}
	return &Scalar{Str: func(s string) bool { return strings.Compare(lo.str, s) <= 0 && strings.Compare(s, hi.str) <= 0 }}, nil
}
