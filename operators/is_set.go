package operators

// is_set: present and not null. Any value is ignored.
var opIsSet = &Operator{Name: "is_set", Aliases: []string{"is not null", "exists", "is set"},
	Prepare: func(*Arg) (Test, error) { return isSet, nil }}

func isSet(v Value, _ Context) bool { return v.kind > Null }
