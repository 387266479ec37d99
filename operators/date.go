package operators

import (
	"encoding/json"
	"math"
	"time"
)

// ParseDate reads the accepted date strings without allocating: RFC 3339
// (fractional seconds optional), "YYYY-MM-DDTHH:MM:SS" without a zone
// (UTC), "YYYY-MM-DD" (UTC midnight), and the SQL form
// "YYYY-MM-DD HH:MM:SS[.fraction][zone]" (a space for the T; fraction and
// zone optional, no zone is UTC; zones Z, ±hh, ±hhmm, ±hh:mm). The T form
// stays RFC 3339's: zones Z or ±hh:mm only, and a fraction needs a zone.
func ParseDate(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	if len(s) == 10 {
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), true
	}
	sql := s[10] == ' '
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't' && !sql) || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	hour, ok1 := digits(s[11:13])
	min, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	fraction := len(rest) > 0 && rest[0] == '.'
	if fraction {
		i := 1
		scale := 100000000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if scale > 0 {
				nsec += int(rest[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "" && fraction && !sql:
		// A fraction needs a zone in the T form: neither RFC 3339 nor
		// the zone-less YYYY-MM-DDTHH:MM:SS form has one without the
		// other. The SQL form reads a zone-less fraction as UTC.
		return time.Time{}, false
	case rest == "":
		// no zone: UTC
	case rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		// ±hh:mm in both forms; ±hh and ±hhmm in the SQL form only.
		var oh, om int
		var ok1, ok2 bool
		switch {
		case len(rest) == 6 && rest[3] == ':':
			oh, ok1 = digits(rest[1:3])
			om, ok2 = digits(rest[4:6])
		case sql && len(rest) == 5:
			oh, ok1 = digits(rest[1:3])
			om, ok2 = digits(rest[3:5])
		case sql && len(rest) == 3:
			oh, ok1 = digits(rest[1:3])
			ok2 = true
		}
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// maxEpochMillis bounds epoch-millisecond dates (JavaScript's Date range).
const maxEpochMillis = 8.64e15

// EpochMillis reads a number of epoch milliseconds as a time.
func EpochMillis(ms float64) (time.Time, bool) {
	if math.IsNaN(ms) || math.Abs(ms) > maxEpochMillis {
		return time.Time{}, false
	}
	sec := math.Floor(ms / 1000)
	nsec := (ms - sec*1000) * 1e6
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}

// DateOf reads a contact scalar as a date: a date string, or a number of
// epoch milliseconds.
func DateOf(v Value) (time.Time, bool) {
	switch v.kind {
	case String:
		return ParseDate(v.str)
	case Number:
		return EpochMillis(v.num)
	}
	return time.Time{}, false
}

// date reads a filter value (at sub) as a date.
func (a *Arg) date(raw json.RawMessage, sub string) (time.Time, error) {
	a.atLeast(CostDate) // contact values are read as dates
	var x any
	if len(raw) == 0 || json.Unmarshal(raw, &x) != nil {
		return time.Time{}, a.Errorf(sub, "missing; want a date")
	}
	switch t := x.(type) {
	case string:
		if d, ok := ParseDate(t); ok {
			return d, nil
		}
		return time.Time{}, a.Errorf(sub, "%q is not a date (RFC 3339, YYYY-MM-DDTHH:MM:SS, YYYY-MM-DD HH:MM:SS[.fraction][zone] or YYYY-MM-DD)", t)
	case float64:
		if d, ok := EpochMillis(t); ok {
			return d, nil
		}
		return time.Time{}, a.Errorf(sub, "epoch milliseconds out of range")
	}
	return time.Time{}, a.Errorf(sub, "want a date string or epoch milliseconds, got %s", jsonType(raw))
}

// dateScalar applies a test to a field's date: a date string or epoch
// milliseconds; values that are not dates do not match.
func dateScalar(test func(t time.Time) bool) *Scalar {
	return &Scalar{
		Str: func(s string) bool { t, ok := ParseDate(s); return ok && test(t) },
		Num: func(f float64) bool { t, ok := EpochMillis(f); return ok && test(t) },
	}
}

// dateTest is dateScalar for tests that read the evaluation's clock.
func dateTest(test func(t time.Time, c Context) bool) Test {
	return func(v Value, c Context) bool {
		return anyElem(v, func(e Value) bool {
			t, ok := DateOf(e)
			return ok && test(t, c)
		})
	}
}
