package operators

// in: the field equals some element of the list (rule 1; on an array,
// some element does). A null element matches a missing or null field, as
// "eq null" does. The empty list matches nothing.
var opIn = &Operator{Name: "in", Aliases: []string{"any of"}, Prepare: prepareIn}

func prepareIn(a *Arg) (Test, error) {
	s, err := a.valueSet("an array of scalars")
	if err != nil {
		return nil, err
	}
	return func(v Value, _ Context) bool {
		switch v.kind {
		case Missing, Null:
			return s.hasNull
		case Array:
			return v.Any(s.has)
		}
		return s.has(v)
	}, nil
}
