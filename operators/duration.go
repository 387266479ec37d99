package operators

import (
	"encoding/json"
	"math"
	"strconv"
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
// a unit. A span in s, m, h, d or w must fit a time.Duration (about 292
// years); months and years are calendar units, any count an int holds.
func ParseDuration(s string) (Duration, bool) {
	d, problem := parseDuration(s)
	return d, problem == ""
}

// parseDuration is ParseDuration saying what is wrong.
func parseDuration(s string) (Duration, string) {
	const syntax = "is not a duration (an integer and s, m, h, d, w, mo or y)"
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return Duration{}, syntax
	}
	d := Duration{Unit: s[i:]}
	l, fixed := unitLengths[d.Unit]
	if !fixed && d.Unit != "mo" && d.Unit != "y" {
		return Duration{}, syntax
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || fixed && int64(n) > math.MaxInt64/int64(l) {
		return Duration{}, "is out of range (in s, m, h, d or w, at most about 292 years)"
	}
	d.N = n
	return d, ""
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
	a.atLeast(CostDate) // contact values are read as dates
	var s string
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &s) != nil {
		return Duration{}, a.Errorf("", `want a duration string such as "7d"`)
	}
	d, problem := parseDuration(s)
	if problem != "" {
		return Duration{}, a.Errorf("", "%q %s", s, problem)
	}
	return d, nil
}
