package operators

import (
	"encoding/json"
	"math"
	"time"
)

// Duration is a relative-date span: N units, where months and years are
// calendar months and years.
type Duration struct {
	N    int
	Unit string // s m h d w mo y
}

var unitLengths = map[string]time.Duration{
	"s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

// ParseDuration reads "30m", "7d", "3mo", "1y": a non-negative integer and
// a unit.
func ParseDuration(s string) (Duration, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return Duration{}, false
	}
	n, _ := digits(s[:i])
	d := Duration{N: n, Unit: s[i:]}
	switch d.Unit {
	case "mo", "y":
		return d, true
	}
	l, ok := unitLengths[d.Unit]
	if !ok || float64(n)*float64(l) > math.MaxInt64/2 {
		return Duration{}, false
	}
	return d, true
}

// Back is t minus d; Forward is t plus d.
func (d Duration) Back(t time.Time) time.Time    { return d.shift(t, -1) }
func (d Duration) Forward(t time.Time) time.Time { return d.shift(t, 1) }

func (d Duration) shift(t time.Time, sign int) time.Time {
	switch d.Unit {
	case "mo":
		return t.AddDate(0, sign*d.N, 0)
	case "y":
		return t.AddDate(sign*d.N, 0, 0)
	}
	return t.Add(time.Duration(sign) * time.Duration(d.N) * unitLengths[d.Unit])
}

func (a *Arg) duration() (Duration, error) {
	var s string
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &s) != nil {
		return Duration{}, a.Errorf("", `want a duration string such as "7d"`)
	}
	d, ok := ParseDuration(s)
	if !ok {
		return Duration{}, a.Errorf("", "%q is not a duration (an integer and s, m, h, d, w, mo or y)", s)
	}
	return d, nil
}
