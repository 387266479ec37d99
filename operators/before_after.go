package operators

import "time"

// before / after: the field's date is strictly before / after the value.
var (
	opBefore = &Operator{Name: "before", Aliases: []string{"date before"}, PrepareScalar: func(a *Arg) (*Scalar, error) {
		d, err := a.date(a.Value, "")
		if err != nil {
			return nil, err
		}
		return dateScalar(func(t time.Time) bool { return t.Before(d) }), nil
	}}
	opAfter = &Operator{Name: "after", Aliases: []string{"date after"}, PrepareScalar: func(a *Arg) (*Scalar, error) {
		d, err := a.date(a.Value, "")
		if err != nil {
			return nil, err
		}
		return dateScalar(func(t time.Time) bool { return t.After(d) }), nil
	}}
)
