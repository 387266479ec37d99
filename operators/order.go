package operators

import "strings"

// gt, gte, lt, lte: numeric order when the value is a number (numeric
// strings count, rule 1), byte-wise string order when it is a string.
var (
	opGt  = &Operator{Name: "gt", Aliases: []string{">"}, PrepareScalar: orderPrep(func(c int) bool { return c > 0 })}
	opGte = &Operator{Name: "gte", Aliases: []string{">="}, PrepareScalar: orderPrep(func(c int) bool { return c >= 0 })}
	opLt  = &Operator{Name: "lt", Aliases: []string{"<"}, PrepareScalar: orderPrep(func(c int) bool { return c < 0 })}
	opLte = &Operator{Name: "lte", Aliases: []string{"<="}, PrepareScalar: orderPrep(func(c int) bool { return c <= 0 })}
)

// orderPrep builds an order operator from what it wants of
// compare(field, value).
func orderPrep(want func(int) bool) func(a *Arg) (*Scalar, error) {
	return func(a *Arg) (*Scalar, error) {
		if len(a.Value) == 0 {
			return nil, a.Errorf("", "missing; want a number or a string")
		}
		c, err := a.ordered(a.Value, "")
		if err != nil {
			return nil, err
		}
		if c.kind == Number {
			return &Scalar{
				Num: func(f float64) bool { return want(cmpFloat(f, c.num)) },
				Str: func(s string) bool { f, ok := ParseDecimal(s); return ok && want(cmpFloat(f, c.num)) },
			}, nil
		}
		return &Scalar{Str: func(s string) bool { return want(strings.Compare(s, c.str)) }}, nil
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ordered reads a number or string constant at sub (never folded: order
// is byte-wise).
func (a *Arg) ordered(raw []byte, sub string) (constant, error) {
	keep := a.IgnoreCase
	a.IgnoreCase = false
	c, err := a.scalar(raw, sub)
	a.IgnoreCase = keep
	if err != nil {
		return c, err
	}
	if c.kind != Number && c.kind != String {
		return c, a.Errorf(sub, "want a number or a string, got %s", jsonType(raw))
	}
	return c, nil
}
