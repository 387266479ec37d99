package operators

import "strings"

// gt, gte, lt, lte: numeric order when the value is a number (numeric
// strings count, rule 1), byte-wise string order when it is a string.
var (
	opGt  = &Operator{Name: "gt", Aliases: []string{">"}, Prepare: orderPrep(func(c int) bool { return c > 0 })}
	opGte = &Operator{Name: "gte", Aliases: []string{">="}, Prepare: orderPrep(func(c int) bool { return c >= 0 })}
	opLt  = &Operator{Name: "lt", Aliases: []string{"<"}, Prepare: orderPrep(func(c int) bool { return c < 0 })}
	opLte = &Operator{Name: "lte", Aliases: []string{"<="}, Prepare: orderPrep(func(c int) bool { return c <= 0 })}
)

// orderPrep builds an order operator from what it wants of
// compare(field, value).
func orderPrep(want func(int) bool) func(a *Arg) (Test, error) {
	return func(a *Arg) (Test, error) {
		c, err := a.ordered("")
		if err != nil {
			return nil, err
		}
		return func(v Value, _ Context) bool {
			return anyElem(v, func(e Value) bool {
				r, ok := c.compare(e)
				return ok && want(r)
			})
		}, nil
	}
}

// ordered reads a number or string constant (never folded: order is
// byte-wise).
func (a *Arg) ordered(sub string) (constant, error) {
	raw := a.Value
	if sub != "" {
		return constant{}, nil
	}
	if len(raw) == 0 {
		return constant{}, a.Errorf("", "missing; want a number or a string")
	}
	keep := a.IgnoreCase
	a.IgnoreCase = false
	c, err := a.scalar(raw, "")
	a.IgnoreCase = keep
	if err != nil {
		return c, err
	}
	if c.kind != Number && c.kind != String {
		return c, a.Errorf("", "want a number or a string")
	}
	return c, nil
}

// compare orders a contact scalar against the constant; ok is false when
// the types do not compare (rule 1).
func (c *constant) compare(v Value) (int, bool) {
	switch c.kind {
	case Number:
		n, ok := v.Number()
		if !ok {
			return 0, false
		}
		switch {
		case n < c.num:
			return -1, true
		case n > c.num:
			return 1, true
		}
		return 0, true
	case String:
		if v.kind != String {
			return 0, false
		}
		return strings.Compare(v.str, c.str), true
	}
	return 0, false
}
