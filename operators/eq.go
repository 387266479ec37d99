package operators

// eq: the field equals the value (rule 1); on an array, some element
// does (rule 2). "eq null" is is_not_set: missing or null.
var opEq = &Operator{Name: "eq", Aliases: []string{"=", "==", "is", "equals"}, PrepareScalar: prepareEq, Index: IndexEquals}

func prepareEq(a *Arg) (*Scalar, error) {
	if len(a.Value) == 0 {
		return nil, a.Errorf("", "missing; want a scalar or null")
	}
	c, err := a.scalar(a.Value, "", a.IgnoreCase)
	if err != nil {
		return nil, err
	}
	return c.equality(a.IgnoreCase), nil
}

// equality is the Scalar test "equals c" (rule 1).
func (c constant) equality(fold bool) *Scalar {
	switch c.kind {
	case Null:
		return &Scalar{Nil: true}
	case Bool:
		return &Scalar{Bool: func(b bool) bool { return b == c.b }}
	case Number:
		return &Scalar{
			Num: func(f float64) bool { return f == c.num },
			Str: func(s string) bool { f, ok := ParseDecimal(s); return ok && f == c.num },
		}
	}
	if fold {
		return &Scalar{Str: func(s string) bool { return equalFold(s, c.str) }}
	}
	return &Scalar{Str: func(s string) bool { return s == c.str }}
}
