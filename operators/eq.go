package operators

// eq: the field equals the value (rule 1); on an array, some element
// does (rule 2). "eq null" is is_not_set: missing or null.
var opEq = &Operator{Name: "eq", Aliases: []string{"=", "==", "is", "equals"}, Prepare: prepareEq}

func prepareEq(a *Arg) (Test, error) {
	if len(a.Value) == 0 {
		return nil, a.Errorf("", "missing; want a scalar or null")
	}
	c, err := a.scalar(a.Value, "")
	if err != nil {
		return nil, err
	}
	if c.kind == Null {
		return isNil, nil
	}
	fold := a.IgnoreCase && c.kind == String
	return func(v Value, _ Context) bool {
		if v.kind == Array {
			return v.Any(func(e Value) bool { return c.equals(e, fold) })
		}
		return c.equals(v, fold) && v.kind > Null
	}, nil
}

func isNil(v Value, _ Context) bool { return v.kind <= Null }
