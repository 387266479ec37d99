package operators

// elem_match: some element of the array field satisfies the whole group
// by itself (unlike fan-out, where each condition may be met by a
// different element). The group's fields are relative to the element.
var opElemMatch = &Operator{Name: "elem_match", Prepare: func(a *Arg) (Test, error) {
	if len(a.Value) == 0 {
		return nil, a.Errorf("", "missing; want a group {match, filters}")
	}
	sub, err := a.Group(a.Value, a.Pointer+"/value", a.Depth+1)
	if err != nil {
		return nil, err
	}
	return func(v Value, c Context) bool {
		return v.kind == Array && v.Any(func(e Value) bool { return sub(e, c) })
	}, nil
}}
