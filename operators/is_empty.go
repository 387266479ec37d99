package operators

// is_empty: missing, null, "", [] or {}. Any value is ignored.
var opIsEmpty = &Operator{Name: "is_empty", Aliases: []string{"is empty"},
	Prepare: func(*Arg) (Test, error) { return isEmpty, nil }}

func isEmpty(v Value, _ Context) bool {
	switch v.kind {
	case Missing, Null:
		return true
	case String:
		return v.str == ""
	case Array, Object:
		return v.Len() == 0
	}
	return false
}
