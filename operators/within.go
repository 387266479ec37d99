package operators

import "time"

// within_last: now - d <= field date <= now. within_next: now <= field
// date <= now + d. Both read the evaluation's now.
var (
	opWithinLast = &Operator{Name: "within_last", Aliases: []string{"in the last"}, ReadsNow: true,
		Prepare: func(a *Arg) (Test, error) {
			d, err := a.duration()
			if err != nil {
				return nil, err
			}
			return dateTest(func(t time.Time, c Context) bool {
				return !t.Before(d.Back(c.Now)) && !t.After(c.Now)
			}), nil
		}}
	opWithinNext = &Operator{Name: "within_next", Aliases: []string{"in the next"}, ReadsNow: true,
		Prepare: func(a *Arg) (Test, error) {
			d, err := a.duration()
			if err != nil {
				return nil, err
			}
			return dateTest(func(t time.Time, c Context) bool {
				return !t.Before(c.Now) && !t.After(d.Forward(c.Now))
			}), nil
		}}
)
