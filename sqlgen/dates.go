package sqlgen

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/segmatch/segmatch/operators"
)

// Dates: before, after (strict), on exact epoch seconds (segmatch_date_text,
// segmatch_date_ms).
func dateCompare(sym string) builder {
	return func(g *gen, l *leaf) (string, error) {
		d := filterDate(l.f.Value)
		if sym == "<" {
			return g.dateRange(l, nil, &d, "<"), nil
		}
		return g.dateRange(l, &d, nil, ">"), nil
	}
}

// dateRange: lo <= the field's date <= hi (a nil bound is none; sym,
// when not "", makes the one bound strict). A date string is parsed only
// when its day (YYYY-MM-DD, which orders as text) is within two days of
// the bounds: its zone moves its instant by less than a day from its
// local time, so a string outside cannot be a date inside. When those
// days are few (dayList), the day is looked up in their list, one hashed
// lookup that also refuses what is not a day; an epoch-milliseconds
// number is read only within a day of the bounds. The element's type is
// read once and each type's parser only on its own branch.
func (g *gen) dateRange(l *leaf, lo, hi *time.Time, sym string) string {
	if lo != nil && hi != nil && lo.After(*hi) {
		return g.anyElemSome(l.fld, func(string) string { return "FALSE" }, func(string) string { return "FALSE" })
	}
	var ops, bounds, pre, npre []string // date ops[i] bounds[i]
	var loDay, hiDay string
	if lo != nil {
		ops = append(ops, ">=")
		bounds = append(bounds, g.arg(epoch(*lo))+"::text::numeric")
		if day, ok := dayOf(*lo, -2); ok {
			loDay = day
			pre = append(pre, `COLLATE "C" >= `+g.arg(day)+"::text")
		}
		npre = append(npre, ">= "+g.arg(msOf(*lo, -1))+"::text::numeric")
	}
	if hi != nil {
		ops = append(ops, "<=")
		bounds = append(bounds, g.arg(epoch(*hi))+"::text::numeric")
		if day, ok := dayOf(*hi, 2); ok {
			hiDay = day
			pre = append(pre, `COLLATE "C" <= `+g.arg(day)+"::text")
		}
		npre = append(npre, "<= "+g.arg(msOf(*hi, 1))+"::text::numeric")
	}
	if sym != "" {
		ops[0] = sym
	}
	if days := dayList(loDay, hiDay); days != nil {
		pre = []string{"= ANY(" + g.arg(days) + "::text[])"}
	}
	// cmp tests a date once: a range holds both bounds (BETWEEN would
	// evaluate it twice).
	cmp := func(date string) string {
		if len(ops) == 2 {
			return fmt.Sprintf("numrange(%s, %s, '[]') @> %s", bounds[0], bounds[1], date)
		}
		return fmt.Sprintf("%s %s %s", date, ops[0], bounds[0])
	}
	// some: an array's elements are read by segmatch_date_some, without
	// the pre-tests (arrays of dates are rare).
	someBounds := [4]string{"NULL", "false", "NULL", "false"}
	if lo != nil {
		someBounds[0], someBounds[1] = bounds[0], strconv.FormatBool(sym == ">")
	}
	if hi != nil {
		someBounds[2], someBounds[3] = bounds[len(bounds)-1], strconv.FormatBool(sym == "<")
	}
	some := func(arr string) string {
		return fmt.Sprintf("segmatch_date_some(%s, %s)", arr, strings.Join(someBounds[:], ", "))
	}
	return g.anyElemSome(l.fld, func(e string) string {
		text := fmt.Sprintf("(%s) #>> '{}'", e)
		ps := []string{"TRUE"} // bounds beyond the years date strings write
		if len(pre) > 0 {
			ps = nil
			for _, c := range pre {
				ps = append(ps, fmt.Sprintf("left(%s, 10) %s", text, c))
			}
		}
		num := fmt.Sprintf("(%s)::numeric", e)
		var ns []string
		for _, c := range npre {
			ns = append(ns, num+" "+c)
		}
		return fmt.Sprintf("(CASE jsonb_typeof(%s) WHEN 'string' THEN %s AND %s WHEN 'number' THEN %s AND %s ELSE FALSE END)",
			e, strings.Join(ps, " AND "), cmp("segmatch_date_text("+text+")"),
			strings.Join(ns, " AND "), cmp("segmatch_date_ms("+num+")"))
	}, some)
}

// maxDayList bounds the list of days dayList writes (beyond it, the
// text order of the days is the pre-test).
const maxDayList = 400

// dayList is every day from lo to hi (YYYY-MM-DD, both included), nil
// when either is "" or they are more than maxDayList.
func dayList(lo, hi string) []string {
	if lo == "" || hi == "" {
		return nil
	}
	a, _ := time.Parse("2006-01-02", lo)
	b, _ := time.Parse("2006-01-02", hi)
	var out []string
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		if len(out) == maxDayList {
			return nil
		}
		out = append(out, d.Format("2006-01-02"))
	}
	return out
}

// msOf is t moved by days as epoch milliseconds (exact decimal): an
// epoch-milliseconds date is within a millisecond of its number.
func msOf(t time.Time, days int) string {
	t = t.Add(time.Duration(days) * 24 * time.Hour)
	ms := new(big.Rat).SetFrac(new(big.Int).Add(new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9)), big.NewInt(int64(t.Nanosecond()))), big.NewInt(1e6))
	return ms.FloatString(6)
}

// dayOf is the UTC day of t moved by days, as YYYY-MM-DD; false beyond
// the years a date string can write.
func dayOf(t time.Time, days int) (string, bool) {
	t = t.UTC().AddDate(0, 0, days)
	if t.Year() < 0 || t.Year() > 9999 {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// Dates: date_between [from, to], inclusive.
func (g *gen) dateBetween(l *leaf) (string, error) {
	var raws []json.RawMessage
	_ = json.Unmarshal(l.f.Value, &raws)
	lo, hi := filterDate(raws[0]), filterDate(raws[1])
	return g.dateRange(l, &lo, &hi, ""), nil
}

// Relative dates: within_last [now - d, now], within_next [now, now + d],
// the bounds computed in Go at the configured now.
func (g *gen) within(l *leaf) (string, error) {
	var ds string
	_ = json.Unmarshal(l.f.Value, &ds)
	d, _ := operators.ParseDuration(ds)
	lo, hi := g.cfg.now, g.cfg.now
	if l.op == "within_last" {
		lo = d.Back(lo)
	} else {
		hi = d.Forward(hi)
	}
	return g.dateRange(l, &lo, &hi, ""), nil
}

// epoch writes t as exact decimal epoch seconds with 9 fraction digits.
func epoch(t time.Time) string {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
	neg := ns.Sign() < 0
	s := new(big.Int).Abs(ns).String()
	for len(s) < 10 {
		s = "0" + s
	}
	s = s[:len(s)-9] + "." + s[len(s)-9:]
	if neg {
		s = "-" + s
	}
	return s
}
