package oracle

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"golang.org/x/mod/semver"

	"github.com/segmatch/segmatch/filter"
)

// This file holds the small pure Go helpers the generated expr source
// calls for what expr-lang has no builtin for. Each is written from
// docs/semantics.md, deliberately without looking at package operators, so that
// the two implementations fail independently.

// missingT is the type of Missing.
type missingT struct{}

// Missing is what field returns for an absent field. It is not nil: a
// missing field and a null field are different values.
var Missing = missingT{}

// pathCache memoizes parsed field paths (the generated source passes the
// path as written).
var pathCache sync.Map // string -> filter.Path

func parsedPath(s string) (filter.Path, error) {
	if p, ok := pathCache.Load(s); ok {
		return p.(filter.Path), nil
	}
	p, err := filter.ParsePath(s)
	if err != nil {
		return nil, err
	}
	pathCache.Store(s, p)
	return p, nil
}

// walk reads path p from v. An object step reads a member; on an array a
// decimal step indexes it, a final "#" is its length, and any other step
// is applied to every element: the values reached (missing ones skipped,
// arrays flattened one level) form a new array, and when no element
// reaches a value the field is missing.
func walk(v any, p filter.Path) any {
	for i, st := range p {
		switch cur := v.(type) {
		case map[string]any:
			if st.Len {
				return Missing
			}
			x, ok := cur[st.Key]
			if !ok {
				return Missing
			}
			v = x
		case []any:
			if st.Len {
				return float64(len(cur))
			}
			if st.Index >= 0 {
				if st.Index >= len(cur) {
					return Missing
				}
				v = cur[st.Index]
				continue
			}
			out := []any{}
			reached := false
			for _, e := range cur {
				r := walk(e, p[i:])
				if r == Missing {
					continue
				}
				reached = true
				if arr, ok := r.([]any); ok {
					out = append(out, arr...)
				} else {
					out = append(out, r)
				}
			}
			if !reached {
				return Missing
			}
			return out
		default:
			return Missing
		}
	}
	return v
}

// decimalRE is docs/semantics.md rule 1's "entirely a decimal number".
var decimalRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// number reads x as a number under rule 1: a float64, or a string that is
// entirely a finite decimal number.
func number(x any) (float64, bool) {
	switch t := x.(type) {
	case float64:
		return t, true
	case string:
		if !decimalRE.MatchString(t) {
			return 0, false
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// dateRE is the shape of the accepted date strings in the T form (and
// the date alone); the captures are checked for range below.
var dateRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2}):(\d{2})(?:(\.\d+)?([Zz]|[+-](\d{2}):(\d{2})))?)?$`)

// sqlDateRE is the SQL form: a space for the T, the fraction and the zone
// optional, zones Z, ±hh, ±hhmm and ±hh:mm.
var sqlDateRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$`)

// parseDate reads a contact or filter date string: RFC 3339 (fraction
// optional, lower-case t and z allowed as RFC 3339 §5.6 permits),
// YYYY-MM-DDTHH:MM:SS without a zone (UTC), YYYY-MM-DD (UTC midnight), or
// the SQL form YYYY-MM-DD HH:MM:SS[.fraction][zone] (no zone: UTC).
// In the T form a fraction without a zone is none of these.
func parseDate(s string) (time.Time, bool) {
	if m := sqlDateRE.FindStringSubmatch(s); m != nil {
		// Rewritten as RFC 3339: T for the space, the zone as Z or ±hh:mm.
		zone := "Z"
		if m[4] != "" {
			mm := m[6]
			if mm == "" {
				mm = "00"
			}
			if h, _ := strconv.Atoi(m[5]); h > 23 {
				return time.Time{}, false
			}
			if mi, _ := strconv.Atoi(mm); mi > 59 {
				return time.Time{}, false
			}
			zone = m[4] + m[5] + ":" + mm
		}
		t, err := time.Parse(time.RFC3339Nano, m[1]+"T"+m[2]+zone)
		if err != nil {
			return time.Time{}, false
		}
		return t.UTC(), true
	}
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	if m[4] == "" {
		t, err := time.Parse("2006-01-02", s)
		return t, err == nil
	}
	if m[8] == "" {
		t, err := time.Parse("2006-01-02T15:04:05", strings.ToUpper(s))
		return t, err == nil
	}
	if m[9] != "" {
		if h, _ := strconv.Atoi(m[9]); h > 23 {
			return time.Time{}, false
		}
		if mi, _ := strconv.Atoi(m[10]); mi > 59 {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// maxMillis is the range of JavaScript dates, which epoch-millisecond
// numbers must stay within.
const maxMillis = 8.64e15

// dateOf reads a contact value as a date: an accepted date string or a
// number of epoch milliseconds (strings are never epoch milliseconds).
func dateOf(x any) (time.Time, bool) {
	switch t := x.(type) {
	case string:
		return parseDate(t)
	case float64:
		return millis(t)
	}
	return time.Time{}, false
}

func millis(ms float64) (time.Time, bool) {
	if math.IsNaN(ms) || ms > maxMillis || ms < -maxMillis {
		return time.Time{}, false
	}
	whole := math.Floor(ms)
	frac := ms - whole
	return time.UnixMilli(int64(whole)).Add(time.Duration(frac * 1e6)).UTC(), true
}

// prefixFold reports whether s begins with p under Unicode simple folding
// (strings.EqualFold). Simple folding maps rune to rune, so the prefix
// has as many runes as p.
func prefixFold(s, p string) bool {
	n := utf8.RuneCountInString(p)
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strings.EqualFold(s[:i], p)
}

func suffixFold(s, p string) bool {
	n := utf8.RuneCountInString(p)
	i := len(s)
	for k := 0; k < n; k++ {
		if i <= 0 {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return strings.EqualFold(s[i:], p)
}

func containsFold(s, sub string) bool {
	for i := 0; ; {
		if prefixFold(s[i:], sub) {
			return true
		}
		if i >= len(s) {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
}

// semverCanon turns a SemVer string into golang.org/x/mod/semver's form.
// A leading "v" is not SemVer, so it is rejected before the "v" that
// x/mod wants is added. A shortened version ("2", "2.0") gets its missing
// parts as ".0" in front of its pre-release and build metadata, so "2-rc"
// is "v2.0.0-rc" (x/mod itself takes "v2" and "v2.0" only bare).
func semverCanon(s string) (string, bool) {
	if strings.HasPrefix(s, "v") {
		return "", false
	}
	core, suffix := s, ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		core, suffix = s[:i], s[i:]
	}
	for n := strings.Count(core, "."); n < 2; n++ {
		core += ".0"
	}
	c := "v" + core + suffix
	return c, semver.IsValid(c)
}

// prefixOf reads a CIDR or a single address as a network; IPv4-mapped
// IPv6 networks are taken as the IPv4 network they map.
func prefixOf(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return p.Masked(), true
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), true
}

func inCIDR(x string, nets []any) bool {
	a, err := netip.ParseAddr(x)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range nets {
		s, _ := n.(string)
		if p, ok := prefixOf(s); ok && p.Contains(a) {
			return true
		}
	}
	return false
}

// functions registers the helpers with expr. They never fail: a value of
// the wrong type yields false or nil, which the generated source treats
// as "no match".
func (p *Program) functions() []expr.Option {
	str := func(x any) string { s, _ := x.(string); return s }
	return []expr.Option{
		expr.Function("field", func(a ...any) (any, error) {
			path, err := parsedPath(str(a[1]))
			if err != nil {
				return Missing, nil
			}
			return walk(a[0], path), nil
		}),
		expr.Function("missing", func(a ...any) (any, error) { return a[0] == Missing, nil }),
		expr.Function("num", func(a ...any) (any, error) {
			if f, ok := number(a[0]); ok {
				return f, nil
			}
			return nil, nil
		}),
		expr.Function("dateOf", func(a ...any) (any, error) {
			if t, ok := dateOf(a[0]); ok {
				return t, nil
			}
			return nil, nil
		}),
		expr.Function("ts", func(a ...any) (any, error) {
			t, err := time.Parse(time.RFC3339Nano, str(a[0]))
			return t, err
		}),
		expr.Function("unixTime", func(a ...any) (any, error) {
			return time.Unix(int64(a[0].(int)), int64(a[1].(int))).UTC(), nil
		}),
		expr.Function("eqFold", func(a ...any) (any, error) {
			s, ok := a[0].(string)
			return ok && strings.EqualFold(s, str(a[1])), nil
		}),
		expr.Function("prefixFold", func(a ...any) (any, error) {
			s, ok := a[0].(string)
			return ok && prefixFold(s, str(a[1])), nil
		}),
		expr.Function("suffixFold", func(a ...any) (any, error) {
			s, ok := a[0].(string)
			return ok && suffixFold(s, str(a[1])), nil
		}),
		expr.Function("containsFold", func(a ...any) (any, error) {
			s, ok := a[0].(string)
			return ok && containsFold(s, str(a[1])), nil
		}),
		expr.Function("semverCmp", func(a ...any) (any, error) {
			s, ok := a[0].(string)
			if !ok {
				return nil, nil
			}
			x, ok1 := semverCanon(s)
			y, ok2 := semverCanon(str(a[1]))
			if !ok1 || !ok2 {
				return nil, nil
			}
			return semver.Compare(x, y), nil
		}),
		expr.Function("inCIDR", func(a ...any) (any, error) {
			s, ok := a[0].(string)
			nets, _ := a[1].([]any)
			return ok && inCIDR(s, nets), nil
		}),
		expr.Function("sub", func(a ...any) (any, error) {
			return p.runSub(a[0].(int), a[1]), nil
		}),
	}
}
