package operators

import "encoding/json"

// between: lo <= field <= hi, both bounds numbers or both strings.
var opBetween = &Operator{Name: "between", Prepare: prepareBetween}

func prepareBetween(a *Arg) (Test, error) {
	lo, hi, err := a.bounds()
	if err != nil {
		return nil, err
	}
	return func(v Value, _ Context) bool {
		return anyElem(v, func(e Value) bool {
			r1, ok1 := lo.compare(e)
			r2, ok2 := hi.compare(e)
			return ok1 && ok2 && r1 >= 0 && r2 <= 0
		})
	}, nil
}

// bounds reads [lo, hi] of one comparable type with lo <= hi.
func (a *Arg) bounds() (lo, hi constant, err error) {
	raws, err := a.list("[lo, hi]")
	if err != nil {
		return lo, hi, err
	}
	if len(raws) != 2 {
		return lo, hi, a.Errorf("", "want exactly two bounds [lo, hi], got %d", len(raws))
	}
	cs := [2]constant{}
	for i, r := range raws {
		var x any
		_ = json.Unmarshal(r, &x)
		switch t := x.(type) {
		case float64:
			cs[i] = constant{kind: Number, num: t}
		case string:
			cs[i] = constant{kind: String, str: t}
		default:
			return lo, hi, a.Errorf("/"+itoa(i), "want a number or a string, got %s", jsonType(r))
		}
	}
	if cs[0].kind != cs[1].kind {
		return lo, hi, a.Errorf("", "both bounds must be numbers or both strings")
	}
	if cs[0].kind == Number && cs[0].num > cs[1].num || cs[0].kind == String && cs[0].str > cs[1].str {
		return lo, hi, a.Errorf("", "lower bound is greater than upper bound")
	}
	return cs[0], cs[1], nil
}
