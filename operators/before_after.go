package operators

import "time"

// before / after: the field's date is strictly before / after the value.
var (
	opBefore = &Operator{Name: "before", Aliases: []string{"date before"}, Prepare: func(a *Arg) (Test, error) {
		d, err := a.date(a.Value, "")
		if err != nil {
			return nil, err
		}
		return dateTest(func(t time.Time, _ Context) bool { return t.Before(d) }), nil
	}}
	opAfter = &Operator{Name: "after", Aliases: []string{"date after"}, Prepare: func(a *Arg) (Test, error) {
		d, err := a.date(a.Value, "")
		if err != nil {
			return nil, err
		}
		return dateTest(func(t time.Time, _ Context) bool { return t.After(d) }), nil
	}}
)
