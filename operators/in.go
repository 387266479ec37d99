package operators

// in: the field equals some element of the list (rule 1; on an array,
// some element does). A null element matches a missing or null field, as
// "eq null" does. The empty list matches nothing.
var opIn = &Operator{Name: "in", Aliases: []string{"any of"}, PrepareScalar: prepareIn, Index: IndexEquals}

func prepareIn(a *Arg) (*Scalar, error) {
	s, err := a.valueSet("an array of scalars")
	if err != nil {
		return nil, err
	}
	return &Scalar{
		Str:  func(x string) bool { return s.has(Value{kind: String, str: x}) },
		Num:  func(f float64) bool { _, ok := s.nums[f]; return ok },
		Bool: func(b bool) bool { return s.bools[b2i(b)] },
		Nil:  s.hasNull,
	}, nil
}
