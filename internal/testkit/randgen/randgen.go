// Package randgen generates random, valid segments and random contacts
// for property tests, deterministically from a seed.
//
// Segments and contacts draw their field names and their values from the
// same small pools, so that conditions hit real data often: the same
// strings (with case-folding traps such as "ſ" and the Kelvin sign),
// numbers and numeric strings, dates in every accepted format (and near
// misses), versions, IP addresses, arrays, arrays of objects and nested
// objects. Every operator and alias of the registry (operators.Spellings,
// docs/semantics.md's table) appears, with negate and ignore_case; every
// segment generated compiles. Condition draws one condition of a given
// operator.
//
// Usage:
//
//	g := randgen.New(seed)
//	seg := g.Segment()
//	contact := g.Contact()
//
// Segment values are often taken from the contacts generated just before
// (the last six), read at the condition's own field: generate a batch of
// contacts, then the segment to test against them, and most operators
// both match and fail. Relative dates are generated around Now, which
// tests should also pass as the evaluation clock.
package randgen

import (
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// Now is the clock the generated dates are placed around; pass it as the
// evaluation's now (segmatch.WithNow) so that within_last / within_next
// see boundary cases.
var Now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// Gen is a deterministic generator. It is not safe for concurrent use.
type Gen struct {
	r *rand.Rand
	// seen holds scalars of recent contacts, which segment values reuse
	// (whole, or as prefixes, suffixes, substrings, case-swapped) so that
	// conditions meet their data often.
	seen   []any
	recent []map[string]any
	// MaxDepth bounds group nesting (a segment's own list is depth 1).
	MaxDepth int
}

// New returns a generator seeded with seed.
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), MaxDepth: 4}
}

// Operators lists every operator spelling the generator uses: each
// canonical name and every alias of the registry (operators.Spellings),
// in registry order.
var Operators = func() []string {
	var out []string
	for _, spellings := range opSpellings {
		out = append(out, spellings...)
	}
	return out
}()

// opSpellings: one entry per operator of the registry, canonical name
// first, then its aliases. The registry is the only alias table; value
// (below) knows what each canonical operator takes.
var opSpellings = func() [][]string {
	var out [][]string
	for _, name := range operators.Canonical() {
		out = append(out, operators.SpellingsOf(name))
	}
	return out
}()

// Field paths of segments (top level). Escapes: "a\.b" is the key "a.b",
// "\#" the key "#".
var topFields = []string{
	"name", "email", "age", "score", "country", "tags", "createdAt", "version", "ip", "active", "nothing",
	"attributes", "attributes.country", "attributes.orders", "attributes.plan.tier", "attributes.signup", "attributes.0",
	"orders", "orders.sku", "orders.price", "orders.0.sku", "orders.#", "orders.tags", "orders.tags.#", "orders.items.qty", "orders.1",
	"tags.#", "tags.0", "tags.1", "tags.x", "tags.\\0",
	"a\\.b", "\\#", "matrix", "matrix.0", "matrix.#", "matrix.x",
	"",
}

// preferredFields are the top-level fields an operator is usually given,
// so that it meets data of its type often.
var preferredFields = func() map[string][]string {
	str := []string{"name", "email", "country", "tags", "orders.sku", "orders.tags", "attributes.country", "attributes.plan.tier", "a\\.b", "\\#"}
	num := []string{"age", "score", "attributes.orders", "orders.price", "tags.#", "orders.#", "orders.items.qty", "matrix.#", "a\\.b"}
	date := []string{"createdAt", "attributes.signup", "tags", "createdAt"}
	arr := []string{"tags", "orders", "orders.tags", "matrix", "attributes", "orders.items", "orders.sku", "ip"}
	m := map[string][]string{}
	for _, op := range []string{"contains", "not_contains", "starts_with", "ends_with", "regex", "not_regex"} {
		m[op] = str
	}
	for _, op := range []string{"gt", "gte", "lt", "lte", "between", "not_between"} {
		m[op] = num
	}
	for _, op := range []string{"before", "after", "date_between", "within_last", "not_within_last", "within_next"} {
		m[op] = date
	}
	for _, op := range []string{"semver_eq", "semver_ne", "semver_gt", "semver_gte", "semver_lt", "semver_lte"} {
		m[op] = []string{"version", "tags"}
	}
	for _, op := range []string{"contains_any", "contains_all", "contains_none", "elem_match"} {
		m[op] = arr
	}
	for _, op := range []string{"eq", "ne", "in", "not_in"} {
		m[op] = append(append([]string{"version", "createdAt", "active", "ip"}, str...), num...)
	}
	m["in_cidr"] = []string{"ip", "ip", "tags"}
	m["expr"] = []string{"", "", "attributes", "orders", "attributes.plan"}
	return m
}()

// Field paths inside elem_match groups, relative to one element.
var elemFields = []string{"sku", "price", "tags", "tags.#", "items", "items.qty", "qty", "", "0", "country"}

// Scalar pools shared by segments and contacts.
var (
	words = []string{
		"IT", "it", "It", "DE", "vip", "VIP", "Vip", "gold", "ſ", "s", "S", "\u212a", "k", "K",
		"straße", "STRASSE", "Straße", "ǅ", "ǆ", "Ǆ", "σας", "ΣΑΣ", "ς", "日本", "é", "É",
		"", " ", "a.b", "alice@bigco.com", "Bob@BIGCO.COM", "x\u0000y", "A1", "a1", "B2", "tier1",
	}
	numericStrings = []string{"34", "34.0", "034", "-0", "+7", "1e3", "1E3", ".5", "5.", "0.5", " 34", "34 ", "0x10", "Inf", "NaN", "1e400", "1e-400", "1_000", "3.5", "-1", "2", "7"}
	numbers        = []float64{0, 1, -1, 2, 3, 3.5, 7, 34, 0.5, 100, 1000, 1e300, -1e300, 5e-324, 9007199254740993, 1e21, math.Copysign(0, -1), 8.64e15, -8.64e15, 8.640000000000001e15}
	versions       = []string{"1.2.3", "2", "2.0", "2.0.0", "1.2.3-rc.1", "1.2.3-rc.2", "1.2.3-alpha.10", "1.2.3-alpha.9", "1.10.0", "0.0.1", "1.2.3+build.5", "10.0.0"}
	badVersions    = []string{"v1.2.3", "1.2", "01.2.3", "1.2.3-01", "2-rc", "2.0-rc", "1.2.3.4", "1.2.3-", "1.2.3+", "V2"}
	ips            = []string{"10.0.0.1", "10.1.2.3", "192.168.1.7", "::ffff:10.1.2.3", "2001:db8::1", "2001:db9::1", "127.0.0.1", "fe80::1%eth0", "300.1.1.1", "::1"}
	networks       = []string{"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "::ffff:10.0.0.0/104", "10.1.2.3", "0.0.0.0/0", "::/0", "::1", "127.0.0.0/31"}
	affixes        = []string{"a", "A", "B", "bob", "@bigco.com", "BIGCO.COM", "ſ", "s", "S", "k", "K", "\u212a", "i", "I", "T", "t", "ss", "SS", "ß", "1", "A", "a1", "", "σ", "Σ", "ς", "gold", "tier", "vi", "P"}
	regexes        = []string{"^a", "IT$", "[0-9]+", "^$", "ſ", "k", "(?:vip|gold)", ".", `^\d+(\.\d+)?$`, "é", "^S", "ss", "@bigco\\.com$"}
	exprs          = []string{
		"true", "false", `country == "IT"`, "age > 30", `"vip" in tags`, "score + 1 > 2", "name", "len(tags) > 1",
		`sku == "A1"`, "price >= 3", "qty > 1", `tier == "gold"`, "active == true", "nothing == nil", "attributes.orders > 2",
	}
	durations = []string{"s", "m", "h", "d", "w", "mo", "y"}
)

func (g *Gen) pick(n int) int { return g.r.IntN(n) }

func (g *Gen) chance(p float64) bool { return g.r.Float64() < p }

func pickOf[T any](g *Gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// Segment returns a random valid segment.
func (g *Gen) Segment() filter.Segment {
	return filter.Segment{
		ID:      "seg" + strconv.Itoa(g.pick(1000)),
		Name:    "random",
		Match:   g.match(),
		Filters: g.filters(1, topFields, nil),
		Status:  filter.StatusActive,
	}
}

func (g *Gen) match() filter.Match {
	switch g.pick(3) {
	case 0:
		return filter.All
	case 1:
		return filter.Any
	}
	return ""
}

// filters generates a filter list; base is the path (from the contact
// root) of the elements that fields are relative to, inside elem_match.
func (g *Gen) filters(depth int, fields []string, base filter.Path) []filter.Filter {
	n := g.pick(4)
	if depth == 1 {
		n = 1 + g.pick(4)
	}
	if g.chance(0.03) {
		n = 0
	}
	out := make([]filter.Filter, n)
	for i := range out {
		out[i] = g.filter(depth, fields, base)
	}
	return out
}

func (g *Gen) filter(depth int, fields []string, base filter.Path) filter.Filter {
	if depth < g.MaxDepth && g.chance(0.2) {
		f := filter.Filter{Match: g.match(), Filters: g.filters(depth+1, fields, base)}
		if f.Match == "" {
			f.Match = filter.All
		}
		f.Negate = g.chance(0.25)
		return f
	}
	spellings := pickOf(g, opSpellings)
	op := spellings[0]
	if len(spellings) > 1 && g.chance(0.4) {
		op = pickOf(g, spellings[1:])
	}
	return g.condition(op, spellings[0], depth, fields, base)
}

// Condition returns a random valid top-level condition written with the
// given operator spelling (a canonical name or an alias), with a value,
// field, negate and ignore_case drawn as Segment draws them. It panics on
// a spelling the registry does not know.
func (g *Gen) Condition(spelling string) filter.Filter {
	canon, ok := operators.CanonicalName(spelling)
	if !ok {
		panic("randgen: unknown operator " + strconv.Quote(spelling))
	}
	return g.condition(spelling, canon, 1, topFields, nil)
}

// condition is one condition with operator spelling op, canon being its
// canonical name.
func (g *Gen) condition(op, canon string, depth int, fields []string, base filter.Path) filter.Filter {
	field := pickOf(g, fields)
	if pref := preferredFields[canon]; len(fields) == len(topFields) && pref != nil && g.chance(0.75) {
		field = pickOf(g, pref)
	}
	f := filter.Filter{Field: field, Operator: op}
	p, err := filter.ParsePath(field)
	if err != nil {
		panic("randgen: bad pool path " + field)
	}
	p = append(slices.Clone(base), p...)
	f.Value = g.value(canon, depth, p)
	f.Negate = g.chance(0.2)
	f.IgnoreCase = g.chance(0.3)
	return f
}

// value returns a valid value for the canonical operator op on the field
// at path p (from the contact root).
func (g *Gen) value(op string, depth int, p filter.Path) json.RawMessage {
	if v, ok := g.dataValue(op, p); ok {
		return filter.ValueOf(v)
	}
	var v any
	switch op {
	case "eq", "ne":
		v = g.scalarOrSeen(true)
	case "gt", "gte", "lt", "lte":
		if g.chance(0.6) {
			v = g.numberOrSeen()
		} else {
			v = g.wordOrSeen()
		}
	case "between", "not_between":
		if g.chance(0.6) {
			a, b := g.numberOrSeen(), g.numberOrSeen()
			v = []any{min(a, b), max(a, b)}
		} else {
			a, b := g.wordOrSeen(), g.wordOrSeen()
			v = []any{min(a, b), max(a, b)}
		}
	case "in", "not_in", "contains_any", "contains_all", "contains_none":
		n := g.pick(4)
		list := make([]any, n)
		for i := range list {
			list[i] = g.scalarOrSeen(true)
		}
		v = list
	case "contains", "not_contains", "starts_with", "ends_with":
		v = g.stringOrList(func() string {
			switch g.pick(3) {
			case 0:
				return pickOf(g, affixes)
			case 1:
				return g.word()
			}
			return g.cut(g.wordOrSeen(), op)
		})
	case "regex", "not_regex":
		if g.chance(0.5) {
			v = pickOf(g, regexes)
		} else {
			v = pickOf(g, []string{"", "^", ""}) + regexp.QuoteMeta(g.cut(g.wordOrSeen(), "contains")) + pickOf(g, []string{"", "$", ""})
		}
	case "is_set", "is_not_set", "is_empty", "is_not_empty":
		if g.chance(0.1) {
			v = true // ignored
		} else {
			return nil
		}
	case "before", "after":
		v = g.dateValue()
	case "date_between":
		a, b := g.dateValue(), g.dateValue()
		if dateKey(a).After(dateKey(b)) {
			a, b = b, a
		}
		v = []any{a, b}
	case "within_last", "not_within_last", "within_next":
		v = strconv.Itoa(pickOf(g, []int{0, 1, 2, 3, 7, 30})) + pickOf(g, durations)
	case "semver_eq", "semver_ne", "semver_gt", "semver_gte", "semver_lt", "semver_lte":
		v = pickOf(g, versions)
		if x, ok := g.seenValue().(string); ok && slices.Contains(versions, x) {
			v = x
		}
	case "elem_match":
		grp := filter.Filter{Match: g.match(), Filters: g.filters(depth+1, elemFields, p)}
		if grp.Match == "" {
			grp.Match = filter.All
		}
		grp.Negate = g.chance(0.1)
		return filter.ValueOf(grp)
	case "in_cidr":
		v = g.stringOrList(func() string { return pickOf(g, networks) })
	case "expr":
		v = pickOf(g, exprs)
	default:
		panic("randgen: no value for " + op)
	}
	return filter.ValueOf(v)
}

func (g *Gen) stringOrList(one func() string) any {
	if g.chance(0.7) {
		return one()
	}
	list := make([]any, g.pick(4))
	for i := range list {
		list[i] = one()
	}
	return list
}

// remember records the scalars of a contact for later segment values.
func (g *Gen) remember(x any) {
	switch t := x.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			g.remember(t[k])
		}
	case []any:
		for _, e := range t {
			g.remember(e)
		}
	case nil:
	default:
		if len(g.seen) < 512 {
			g.seen = append(g.seen, x)
		} else {
			g.seen[g.pick(len(g.seen))] = x
		}
	}
}

// seenValue is a scalar of a recent contact (nil before any contact).
func (g *Gen) seenValue() any {
	if len(g.seen) == 0 {
		return nil
	}
	return pickOf(g, g.seen)
}

func (g *Gen) scalarOrSeen(null bool) any {
	if x := g.seenValue(); x != nil && g.chance(0.5) {
		return x
	}
	return g.scalar(null)
}

func (g *Gen) wordOrSeen() string {
	if x, ok := g.seenValue().(string); ok && g.chance(0.5) {
		return x
	}
	return g.word()
}

func (g *Gen) numberOrSeen() float64 {
	if x, ok := g.seenValue().(float64); ok && g.chance(0.5) {
		return x
	}
	return g.number()
}

// word is a string from the pools.
func (g *Gen) word() string {
	switch g.pick(10) {
	case 0, 1:
		return pickOf(g, numericStrings)
	case 2:
		return pickOf(g, versions)
	case 3:
		return pickOf(g, ips)
	case 4:
		return g.dateString(g.instant())
	}
	return pickOf(g, words)
}

func (g *Gen) number() float64 {
	if g.chance(0.2) {
		return float64(g.instant().UnixMilli())
	}
	return pickOf(g, numbers)
}

// scalar is a string, number, bool or (when null) null.
func (g *Gen) scalar(null bool) any {
	switch g.pick(10) {
	case 0, 1, 2, 3:
		return g.word()
	case 4, 5, 6:
		return g.number()
	case 7:
		return pickOf(g, numericStrings)
	case 8:
		return g.chance(0.5)
	}
	if null {
		return nil
	}
	return g.word()
}

// instant is a time near Now, often exactly on a boundary that a
// duration of the pools reaches.
func (g *Gen) instant() time.Time {
	offsets := []time.Duration{0, time.Second, time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 3 * 24 * time.Hour, time.Millisecond, 500 * time.Millisecond}
	t := Now
	switch g.pick(5) {
	case 0:
		t = t.AddDate(0, pickOf(g, []int{-3, -2, -1, 1, 2, 3}), 0)
	case 1:
		t = t.AddDate(pickOf(g, []int{-30, -2, -1, 1, 2}), 0, 0)
	default:
		d := pickOf(g, offsets)
		if g.chance(0.5) {
			d = -d
		}
		t = t.Add(d)
	}
	if g.chance(0.2) {
		t = t.Add(time.Duration(pickOf(g, []int{-1, 1})) * time.Millisecond)
	}
	return t
}

// dateString formats t in one of the accepted formats, or (rarely) a near
// miss that is not a date.
func (g *Gen) dateString(t time.Time) string {
	switch g.pick(12) {
	case 0:
		return t.Format("2006-01-02")
	case 1:
		return t.Format("2006-01-02T15:04:05")
	case 2:
		return t.Format(time.RFC3339Nano)
	case 3:
		return t.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000Z07:00")
	case 4:
		return t.In(time.FixedZone("", -(5*3600 + 30*60))).Format(time.RFC3339)
	case 5:
		return t.Format("2006-01-02t15:04:05.000z")
	case 6:
		return pickOf(g, []string{
			t.Format("2006-01-02 15:04"), t.Format("2006-01-02T15:04:05.000"), t.Format("2006-01-02T15:04:05+24:00"),
			"2026-02-30", "2026-13-01", t.Format("2006-01-02T15:04"), t.Format("20060102"), t.Format("2006-01-02T15:04:05.Z"),
			t.Format("2006-01-02T15:04:05-0700"), t.Format("2006-01-02 15:04:05 Z"),
		})
	case 7: // the SQL form: a space for the T, the zone optional and shorter
		return pickOf(g, []string{
			t.Format("2006-01-02 15:04:05"), t.Format("2006-01-02 15:04:05.999999"),
			t.In(time.FixedZone("", 0)).Format("2006-01-02 15:04:05-07"),
			t.In(time.FixedZone("", -5*3600)).Format("2006-01-02 15:04:05.000-07"),
			t.In(time.FixedZone("", 5*3600+30*60)).Format("2006-01-02 15:04:05-0700"),
			t.In(time.FixedZone("", 3600)).Format("2006-01-02 15:04:05-07:00"),
			t.Format("2006-01-02 15:04:05Z"),
		})
	}
	return t.Format(time.RFC3339)
}

// dateValue is a valid filter date: a string in an accepted format or
// epoch milliseconds.
func (g *Gen) dateValue() any {
	t := g.instant()
	switch g.pick(6) {
	case 0:
		return float64(t.UnixMilli())
	case 1:
		return t.Format("2006-01-02")
	case 2:
		return t.Format("2006-01-02T15:04:05")
	case 3:
		return t.In(time.FixedZone("", 3600)).Format(time.RFC3339Nano)
	case 4:
		return t.In(time.FixedZone("", -2*3600)).Format("2006-01-02 15:04:05.999-07")
	}
	return t.Format(time.RFC3339Nano)
}

// dateKey orders two dateValue results.
func dateKey(x any) time.Time {
	switch t := x.(type) {
	case float64:
		return time.UnixMilli(int64(t))
	case string:
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01-02 15:04:05.999-07"} {
			if d, err := time.Parse(l, t); err == nil {
				return d
			}
		}
	}
	panic("randgen: not a date value")
}

// Contact returns a random contact, shaped as encoding/json decodes a
// JSON object (float64 numbers, []any, map[string]any).
func (g *Gen) Contact() map[string]any {
	c := map[string]any{}
	set := func(key string, p float64, gen func() any) {
		if len(g.recent) > 0 && g.chance(0.3) {
			// Share a value with a recent contact, so that contacts
			// overlap as real audiences do.
			if v, ok := pickOf(g, g.recent)[key]; ok {
				c[key] = cloneValue(v)
				return
			}
		}
		if g.chance(p) {
			if g.chance(0.15) {
				c[key] = g.anyValue(2)
			} else {
				c[key] = gen()
			}
		}
	}
	set("name", 0.6, func() any { return pickOf(g, words) })
	set("email", 0.5, func() any { return pickOf(g, []string{"alice@bigco.com", "Bob@BIGCO.COM", "bob@other.org", ""}) })
	set("age", 0.6, func() any {
		if g.chance(0.4) {
			return pickOf(g, numericStrings)
		}
		return pickOf(g, numbers)
	})
	set("score", 0.5, func() any { return pickOf(g, numbers) })
	set("country", 0.6, func() any { return pickOf(g, []string{"IT", "it", "DE", "de", "FR", "ſ"}) })
	set("tags", 0.6, func() any { return g.list(func() any { return g.scalarOrNested() }) })
	set("createdAt", 0.6, func() any { return g.contactDate() })
	set("version", 0.5, func() any {
		if g.chance(0.3) {
			return pickOf(g, badVersions)
		}
		return pickOf(g, versions)
	})
	set("ip", 0.5, func() any {
		if g.chance(0.2) {
			return g.list(func() any { return pickOf(g, ips) })
		}
		return pickOf(g, ips)
	})
	set("active", 0.4, func() any { return g.chance(0.5) })
	set("orders", 0.6, func() any { return g.list(func() any { return g.order() }) })
	set("attributes", 0.6, func() any {
		if g.chance(0.2) {
			return g.list(func() any { return g.attributes() })
		}
		return g.attributes()
	})
	set("a.b", 0.3, func() any { return g.scalar(true) })
	set("#", 0.3, func() any { return g.scalar(true) })
	set("matrix", 0.3, func() any { return g.list(func() any { return g.list(func() any { return g.scalar(true) }) }) })
	set("x", 0.2, func() any { return g.anyValue(2) })
	g.remember(c)
	g.keep(c)
	return c
}

func (g *Gen) list(elem func() any) []any {
	out := make([]any, g.pick(4))
	for i := range out {
		out[i] = elem()
	}
	return out
}

func (g *Gen) scalarOrNested() any {
	switch g.pick(12) {
	case 0:
		return nil
	case 1:
		return []any{g.word()}
	}
	return g.scalar(false)
}

func (g *Gen) contactDate() any {
	t := g.instant()
	if g.chance(0.2) {
		return float64(t.UnixMilli())
	}
	return g.dateString(t)
}

func (g *Gen) order() any {
	if g.chance(0.1) {
		return g.scalarOrNested()
	}
	o := map[string]any{}
	if g.chance(0.8) {
		o["sku"] = pickOf(g, []string{"A1", "a1", "B2", "k", "\u212a", ""})
	}
	if g.chance(0.7) {
		o["price"] = g.scalar(true)
	}
	if g.chance(0.4) {
		o["tags"] = g.list(func() any { return pickOf(g, words) })
	}
	if g.chance(0.3) {
		o["items"] = g.list(func() any { return map[string]any{"qty": g.scalar(true)} })
	}
	if g.chance(0.1) {
		o["0"] = g.scalar(true)
	}
	return o
}

func (g *Gen) attributes() any {
	a := map[string]any{}
	if g.chance(0.6) {
		a["country"] = pickOf(g, []string{"IT", "it", "DE", "ſ", ""})
	}
	if g.chance(0.6) {
		a["orders"] = g.scalar(true)
	}
	if g.chance(0.4) {
		a["plan"] = map[string]any{"tier": pickOf(g, []string{"gold", "GOLD", "silver", "tier1"})}
	}
	if g.chance(0.4) {
		a["signup"] = g.contactDate()
	}
	if g.chance(0.2) {
		a["0"] = g.scalar(true)
	}
	return a
}

// anyValue is a value of any JSON type, nested up to depth.
func (g *Gen) anyValue(depth int) any {
	k := g.pick(10)
	if depth <= 0 && k >= 7 {
		k = 0
	}
	switch k {
	case 7:
		return g.list(func() any { return g.anyValue(depth - 1) })
	case 8:
		m := map[string]any{}
		for range g.pick(3) {
			m[pickOf(g, []string{"sku", "qty", "tier", "country", "0", "a"})] = g.anyValue(depth - 1)
		}
		return m
	case 9:
		return nil
	}
	return g.scalar(true)
}

// Clone deep-copies a contact (so that tests may shrink it).
func Clone(c map[string]any) map[string]any {
	return cloneValue(c).(map[string]any)
}

func cloneValue(x any) any {
	switch t := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[k] = cloneValue(v)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, v := range t {
			a[i] = cloneValue(v)
		}
		return a
	}
	return x
}

// recent keeps the last contacts generated: segment values are often
// taken from what they hold at the condition's field, so that a test
// that generates its contacts before the segment sees many matches.
const recentContacts = 6

func (g *Gen) keep(c map[string]any) {
	if len(g.recent) < recentContacts {
		g.recent = append(g.recent, c)
		return
	}
	copy(g.recent, g.recent[1:])
	g.recent[len(g.recent)-1] = c
}

// sample reads path p in a recent contact, following one random element
// where the path meets an array, and returns a scalar found there.
func (g *Gen) sample(p filter.Path) (any, bool) {
	if len(g.recent) == 0 {
		return nil, false
	}
	var x any = pickOf(g, g.recent)
	for _, st := range p {
		switch t := x.(type) {
		case map[string]any:
			v, ok := t[st.Key]
			if !ok || st.Len {
				return nil, false
			}
			x = v
		case []any:
			switch {
			case st.Len:
				x = float64(len(t))
			case st.Index >= 0 && st.Index < len(t):
				x = t[st.Index]
			case len(t) > 0 && st.Index < 0:
				x = pickOf(g, t)
				if m, ok := x.(map[string]any); ok {
					x = m[st.Key]
				} else {
					return nil, false
				}
			default:
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if a, ok := x.([]any); ok && len(a) > 0 {
		x = pickOf(g, a)
	}
	switch x.(type) {
	case string, float64, bool:
		return x, true
	}
	return nil, false
}

// dataValue derives a value for op from data at p, when there is some of
// a fitting type; ok is false otherwise (or, at random, to leave room for
// values drawn from the pools).
func (g *Gen) dataValue(op string, p filter.Path) (any, bool) {
	if !g.chance(0.75) {
		return nil, false
	}
	x, ok := g.sample(p)
	if !ok {
		return nil, false
	}
	s, isStr := x.(string)
	n, isNum := x.(float64)
	if isStr && g.chance(0.2) {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			n, isNum, isStr = f, true, false // rule 1 from the other side
		}
	}
	nudge := func(f float64) float64 {
		if f == 0 || g.chance(0.5) {
			return f
		}
		return f + pickOf(g, []float64{-1, 1, -0.5})*math.Max(1, math.Abs(f)*1e-9)
	}
	switch op {
	case "eq", "ne":
		if isNum {
			return nudge(n), true
		}
		if isStr && g.chance(0.3) {
			return g.recase(s), true
		}
		return x, true
	case "in", "not_in", "contains_any", "contains_all", "contains_none":
		list := []any{x}
		for range g.pick(3) {
			if y, ok := g.sample(p); ok {
				list = append(list, y)
			} else {
				list = append(list, g.scalar(true))
			}
		}
		g.r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		return list, true
	case "gt", "gte", "lt", "lte":
		if isNum {
			return nudge(n), true
		}
		if isStr {
			return s, true
		}
	case "between", "not_between":
		if isNum {
			a, b := nudge(n), nudge(n)
			return []any{min(a, b), max(a, b)}, true
		}
		if isStr {
			t := g.word()
			return []any{min(s, t), max(s, t)}, true
		}
	case "contains", "not_contains", "starts_with", "ends_with":
		if isStr {
			return g.cut(s, op), true
		}
	case "regex", "not_regex":
		if isStr {
			return pickOf(g, []string{"", "^"}) + regexp.QuoteMeta(g.cut(s, "contains")) + pickOf(g, []string{"", "$"}), true
		}
	case "before", "after":
		if t, ok := g.dateIn(x); ok {
			return g.formatValue(t), true
		}
	case "date_between":
		if t, ok := g.dateIn(x); ok {
			u := g.instant()
			if t.After(u) {
				t, u = u, t
			}
			return []any{g.formatValue(t), g.formatValue(u)}, true
		}
	case "semver_eq", "semver_ne", "semver_gt", "semver_gte", "semver_lt", "semver_lte":
		if isStr && slices.Contains(versions, s) {
			return s, true
		}
	case "in_cidr":
		if isStr && slices.Contains(ips[:7], s) {
			if g.chance(0.5) && !strings.Contains(s, ":") {
				return s[:strings.LastIndexByte(s, '.')] + ".0/24", true
			}
			return s, true
		}
	}
	return nil, false
}

// recase changes the case of some runes of s (Unicode simple folding).
func (g *Gen) recase(s string) string {
	r := []rune(s)
	for k := range r {
		if g.chance(0.6) {
			r[k] = unicode.SimpleFold(r[k])
		}
	}
	return string(r)
}

// cut is a prefix (starts_with), suffix (ends_with) or substring of s,
// sometimes recased.
func (g *Gen) cut(s string, op string) string {
	r := []rune(s)
	i, j := 0, len(r)
	switch op {
	case "starts_with":
		j = g.pick(len(r) + 1)
	case "ends_with":
		i = g.pick(len(r) + 1)
	default:
		i = g.pick(len(r) + 1)
		j = i + g.pick(len(r)-i+1)
	}
	out := string(r[i:j])
	if g.chance(0.4) {
		out = g.recase(out)
	}
	return out
}

// dateIn reads a sampled scalar as a date when it is one of the shapes
// the generator writes dates in (a loose reading: a wrong guess only
// makes a less interesting value).
func (g *Gen) dateIn(x any) (time.Time, bool) {
	switch t := x.(type) {
	case float64:
		if math.Abs(t) < 1e14 {
			return time.UnixMilli(int64(t)).UTC(), true
		}
	case string:
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01-02 15:04:05.999-07"} {
			if d, err := time.Parse(l, t); err == nil {
				return d.UTC().Add(time.Duration(pickOf(g, []int{0, 0, -1, 1})) * time.Millisecond), true
			}
		}
	}
	return time.Time{}, false
}

// formatValue writes t as a filter date value in a random accepted form.
func (g *Gen) formatValue(t time.Time) any {
	switch g.pick(4) {
	case 0:
		return float64(t.UnixMilli())
	case 1:
		return t.In(time.FixedZone("", -3600)).Format(time.RFC3339Nano)
	}
	return t.Format(time.RFC3339Nano)
}
