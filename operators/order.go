package operators

import "strings"

// gt, gte, lt, lte: numeric order when the value is a number (numeric
// strings count, rule 1), byte-wise string order when it is a string.
var (
	opGt  = &Operator{Name: "gt", Aliases: []string{">"}, PrepareScalar: orderPrep(orderGt), Index: IndexAbove}
	opGte = &Operator{Name: "gte", Aliases: []string{">="}, PrepareScalar: orderPrep(orderGte), Index: IndexAtLeast}
	opLt  = &Operator{Name: "lt", Aliases: []string{"<"}, PrepareScalar: orderPrep(orderLt), Index: IndexBelow}
	opLte = &Operator{Name: "lte", Aliases: []string{"<="}, PrepareScalar: orderPrep(orderLte), Index: IndexAtMost}
)

type order uint8

const (
	orderGt order = iota
	orderGte
	orderLt
	orderLte
)

// numTest is "field <op> c" on numbers, one closure per operator so the
// hot path makes no further call.
func (o order) numTest(c float64) func(float64) bool {
	switch o {
	case orderGt:
		return func(f float64) bool { return f > c }
	case orderGte:
		return func(f float64) bool { return f >= c }
	case orderLt:
		return func(f float64) bool { return f < c }
	}
	return func(f float64) bool { return f <= c }
}

// holds reports whether compare(field, value) satisfies the operator.
func (o order) holds(cmp int) bool {
	switch o {
	case orderGt:
		return cmp > 0
	case orderGte:
		return cmp >= 0
	case orderLt:
		return cmp < 0
	}
	return cmp <= 0
}

// orderPrep builds an order operator.
func orderPrep(o order) func(a *Arg) (*Scalar, error) {
	return func(a *Arg) (*Scalar, error) {
		if len(a.Value) == 0 {
			return nil, a.Errorf("", "missing; want a number or a string")
		}
		c, err := a.ordered(a.Value, "")
		if err != nil {
			return nil, err
		}
		if c.kind == Number {
			num := o.numTest(c.num)
			return &Scalar{
				Num: num,
				Str: func(s string) bool { f, ok := ParseDecimal(s); return ok && num(f) },
			}, nil
		}
		return &Scalar{Str: func(s string) bool { return o.holds(strings.Compare(s, c.str)) }}, nil
	}
}

// ordered reads a number or string constant at sub (never folded: order
// is byte-wise).
func (a *Arg) ordered(raw []byte, sub string) (constant, error) {
	c, err := a.scalar(raw, sub, false)
	if err != nil {
		return c, err
	}
	if c.kind != Number && c.kind != String {
		return c, a.Errorf(sub, "want a number or a string, got %s", jsonType(raw))
	}
	return c, nil
}
