package operators

// contains_any: the field array shares an element with the value (a
// scalar field counts as a one-element array). contains_all: every
// element of the value is in the field array.
var (
	opContainsAny = &Operator{Name: "contains_any", Prepare: func(a *Arg) (Test, error) {
		s, err := a.valueSet("an array")
		if err != nil {
			return nil, err
		}
		return func(v Value, _ Context) bool {
			switch v.kind {
			case Missing, Null:
				return false
			case Array:
				return v.Any(s.has)
			}
			return s.has(v)
		}, nil
	}}
	opContainsAll = &Operator{Name: "contains_all", Prepare: func(a *Arg) (Test, error) {
		s, err := a.valueSet("an array")
		if err != nil {
			return nil, err
		}
		// Every value against every element.
		a.Cost = (a.Cost + CostPerElement) * max(len(s.elements), 1)
		return func(v Value, _ Context) bool {
			if v.kind <= Null {
				return false
			}
			for i := range s.elements {
				c := &s.elements[i]
				var found bool
				if v.kind == Array {
					found = v.Any(func(e Value) bool { return c.equals(e, s.fold) && e.kind > Null })
				} else {
					found = c.equals(v, s.fold)
				}
				if !found {
					return false
				}
			}
			return true
		}, nil
	}}
)
