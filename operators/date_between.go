package operators

import "time"

// date_between: from <= field date <= to.
var opDateBetween = &Operator{Name: "date_between", PrepareScalar: func(a *Arg) (*Scalar, error) {
	raws, err := a.list("[from, to] dates")
	if err != nil {
		return nil, err
	}
	if len(raws) != 2 {
		return nil, a.Errorf("", "want exactly two dates [from, to], got %d", len(raws))
	}
	from, err := a.date(raws[0], "/0")
	if err != nil {
		return nil, err
	}
	to, err := a.date(raws[1], "/1")
	if err != nil {
		return nil, err
	}
	if from.After(to) {
		return nil, a.Errorf("", "from is after to")
	}
	return dateScalar(func(t time.Time) bool { return !t.Before(from) && !t.After(to) }), nil
}}
