// Package oracle is a second, independent implementation of docs/semantics.md:
// it translates a segment into the source of one expr-lang program and
// runs it. It exists to check the predicate-tree backend (the root
// package and package operators) in property tests, so it is written for
// clarity and independence, not speed: it does not import the root
// package, and from package operators it takes only names — which
// spellings exist, the canonical operator each one is, and which negative
// operator complements which positive one (operators.Positive), the one
// alias table every backend shares — never a parser, a Prepare or a Test.
// What each operator means is written here, one builder per family
// (builders). The generated source can be read (Program.Source) when the
// two disagree.
//
// The generated program's environment is {"contact": <the contact>}. A
// field is read with field(root, "path"), which returns the sentinel
// Missing for an absent field; a scalar test t(x) is lifted to arrays by
// "type(v) == "array" ? any(v, {t(#)}) : t(v)" (rule 2); a negative
// operator is "!(" its positive twin ")" (rule 3). Everything expr-lang
// has (==, <, in, contains, startsWith, endsWith, matches, any, len,
// type, let) is used directly; helpers.go adds the rest.
package oracle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// Program is a segment compiled to expr-lang.
type Program struct {
	src  string
	prog *vm.Program
	subs []*vm.Program // the expressions of "expr" conditions, by index
}

// Source returns the generated expr-lang source.
func (p *Program) Source() string { return p.src }

// Match reports whether the contact (as encoding/json decodes a JSON
// object) is in the segment.
func (p *Program) Match(contact map[string]any) bool {
	out, err := expr.Run(p.prog, map[string]any{"contact": contact})
	if err != nil {
		// A run-time error is a bug in the generated source: the helpers
		// guard every type. Fail loudly so the property test sees it.
		panic(fmt.Sprintf("oracle: %v\nsource: %s", err, p.src))
	}
	return out.(bool)
}

// runSub evaluates the expression of an "expr" condition with the field's
// value as environment (nil unless it is an object); anything but true,
// run-time errors included, is false.
func (p *Program) runSub(i int, v any) bool {
	env, _ := v.(map[string]any)
	out, err := expr.Run(p.subs[i], env)
	b, ok := out.(bool)
	return err == nil && ok && b
}

// Compile translates seg, with now fixed for relative dates. It reports
// an error for an operator it does not know or a value it cannot use.
func Compile(seg filter.Segment, now time.Time) (*Program, error) {
	p := &Program{}
	g := &gen{p: p, now: now.UTC()}
	src := g.group(seg.Match, seg.Filters, "contact", false, 1)
	if err := errors.Join(g.errs...); err != nil {
		return nil, err
	}
	p.src = src
	opts := append([]expr.Option{
		expr.Env(map[string]any{"contact": map[string]any{}}),
		expr.AsBool(),
		expr.MaxNodes(0),
	}, p.functions()...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("oracle: generated source does not compile: %w\n%s", err, src)
	}
	p.prog = prog
	return p, nil
}

// gen writes expr source, numbering the variables it binds.
type gen struct {
	p    *Program
	now  time.Time
	n    int
	errs []error
}

func (g *gen) fail(format string, args ...any) string {
	g.errs = append(g.errs, fmt.Errorf(format, args...))
	return "false"
}

func (g *gen) fresh(prefix string) string {
	g.n++
	return prefix + strconv.Itoa(g.n)
}

// group: all -> a && b, any -> a || b; an empty list is true for both.
func (g *gen) group(m filter.Match, fs []filter.Filter, root string, negate bool, depth int) string {
	if depth > filter.MaxDepth {
		return g.fail("groups nested too deep")
	}
	join := " && "
	switch m {
	case filter.All, "":
	case filter.Any:
		join = " || "
	default:
		return g.fail("bad match %q", m)
	}
	parts := make([]string, 0, len(fs))
	for i := range fs {
		parts = append(parts, g.filter(&fs[i], root, depth))
	}
	s := "true"
	if len(parts) > 0 {
		s = "(" + strings.Join(parts, join) + ")"
	}
	if negate {
		s = "!" + s
	}
	return s
}

func (g *gen) filter(f *filter.Filter, root string, depth int) string {
	if f.IsGroup() {
		return g.group(f.Match, f.Filters, root, f.Negate, depth+1)
	}
	if _, err := filter.ParsePath(f.Field); err != nil {
		return g.fail("field %q: %v", f.Field, err)
	}
	var val any
	hasVal := len(f.Value) > 0
	if hasVal {
		if err := json.Unmarshal(f.Value, &val); err != nil {
			return g.fail("value: %v", err)
		}
	}
	name, positive, ok := canonical(f.Operator)
	if !ok {
		return g.fail("unknown operator %q", f.Operator)
	}
	v := g.fresh("v")
	c := &cond{g: g, v: v, val: val, hasVal: hasVal, raw: f.Value, fold: f.IgnoreCase, depth: depth}
	body := c.build(name)
	if !positive {
		body = "!" + body
	}
	if f.Negate {
		body = "!" + body
	}
	return fmt.Sprintf("(let %s = field(%s, %s); %s)", v, root, strconv.Quote(f.Field), body)
}

// canonical returns the positive operator a spelling tests, and whether
// the spelling is that operator itself (false: its exact complement).
// The spellings are the registry's (operators.Positive): one alias table
// for every backend; what each operator means is written here.
func canonical(op string) (name string, positive bool, ok bool) {
	name, negated, ok := operators.Positive(op)
	return name, !negated, ok
}

// cond builds the source of one condition over the field variable v.
type cond struct {
	g      *gen
	v      string
	val    any
	hasVal bool
	raw    json.RawMessage
	fold   bool
	depth  int
}

func (c *cond) fail(format string, args ...any) string { return c.g.fail(format, args...) }

// present: neither missing nor null.
func (c *cond) present() string { return fmt.Sprintf("!missing(%s) && %s != nil", c.v, c.v) }

// anyElem lifts a scalar test to rule 2: an array field matches when some
// element does. test receives the name of the variable to test.
func (c *cond) anyElem(test func(x string) string) string {
	e := c.g.fresh("e")
	return fmt.Sprintf("(type(%s) == \"array\" ? any(%s, {let %s = #; %s}) : %s)",
		c.v, c.v, e, test(e), test(c.v))
}

// builder writes the source of one positive operator's test over c.v; op
// is the canonical name (one builder serves a family).
type builder func(c *cond, op string) string

// builders maps every positive canonical operator to the builder of its
// family; a negative operator is "!(" its twin ")" (filter). The coverage
// test holds it to the registry. It is filled in init: elem_match's
// builder compiles a group, which reaches build again.
var builders map[string]builder

func init() {
	builders = map[string]builder{
		"eq":           (*cond).eq,
		"gt":           order(">"),
		"gte":          order(">="),
		"lt":           order("<"),
		"lte":          order("<="),
		"between":      (*cond).between,
		"in":           (*cond).in,
		"contains":     (*cond).contains,
		"starts_with":  affix("startsWith", "prefixFold"),
		"ends_with":    affix("endsWith", "suffixFold"),
		"regex":        (*cond).regex,
		"is_set":       (*cond).isSet,
		"is_empty":     (*cond).isEmpty,
		"before":       dateCompare("<"),
		"after":        dateCompare(">"),
		"date_between": (*cond).dateBetween,
		"within_last":  (*cond).withinLast,
		"within_next":  (*cond).withinNext,
		"semver_eq":    semverOrder("=="),
		"semver_gt":    semverOrder(">"),
		"semver_gte":   semverOrder(">="),
		"semver_lt":    semverOrder("<"),
		"semver_lte":   semverOrder("<="),
		"contains_any": (*cond).containsAny,
		"contains_all": (*cond).containsAll,
		"elem_match":   (*cond).elemMatch,
		"in_cidr":      (*cond).inCIDR,
		"expr":         (*cond).expr,
	}
}

func (c *cond) build(op string) string {
	if b, ok := builders[op]; ok {
		return b(c, op)
	}
	return c.fail("operator %q not implemented", op)
}

// Equality: eq (ne is its complement). eq null is is_not_set.
func (c *cond) eq(string) string {
	if !c.hasVal {
		return c.fail("eq: missing value")
	}
	if c.val == nil {
		return fmt.Sprintf("(missing(%s) || %s == nil)", c.v, c.v)
	}
	return c.anyElem(func(x string) string { return c.equal(x, c.val) })
}

// Order: gt, gte, lt, lte, numeric (rule 1) or byte-wise on strings.
func order(sym string) builder {
	return func(c *cond, op string) string {
		switch t := c.val.(type) {
		case float64:
			return c.anyElem(func(x string) string {
				n := c.g.fresh("n")
				return fmt.Sprintf("(let %s = num(%s); %s != nil && %s %s %s)", n, x, n, n, sym, numLit(t))
			})
		case string:
			return c.anyElem(func(x string) string {
				return fmt.Sprintf("(type(%s) == \"string\" && %s %s %s)", x, x, sym, strconv.Quote(t))
			})
		}
		return c.fail("%s: want a number or a string", op)
	}
}

// Between: [lo, hi] numbers or strings, inclusive.
func (c *cond) between(string) string {
	b, ok := c.val.([]any)
	if !ok || len(b) != 2 {
		return c.fail("between: want [lo, hi]")
	}
	lo, lok := b[0].(float64)
	hi, hok := b[1].(float64)
	if lok && hok && lo <= hi {
		return c.anyElem(func(x string) string {
			n := c.g.fresh("n")
			return fmt.Sprintf("(let %s = num(%s); %s != nil && %s >= %s && %s <= %s)", n, x, n, n, numLit(lo), n, numLit(hi))
		})
	}
	slo, lok := b[0].(string)
	shi, hok := b[1].(string)
	if lok && hok && slo <= shi {
		return c.anyElem(func(x string) string {
			return fmt.Sprintf("(type(%s) == \"string\" && %s >= %s && %s <= %s)", x, x, strconv.Quote(slo), x, strconv.Quote(shi))
		})
	}
	return c.fail("between: bad bounds")
}

// Set membership: in; a null in the list matches a missing or null field.
func (c *cond) in(string) string {
	list, ok := c.val.([]any)
	if !ok {
		return c.fail("in: want an array")
	}
	hasNull := false
	for _, e := range list {
		switch e.(type) {
		case nil:
			hasNull = true
		case []any, map[string]any:
			return c.fail("in: want scalars")
		}
	}
	s := c.anyElem(func(x string) string { return c.member(x, list) })
	if hasNull {
		s = fmt.Sprintf("(missing(%s) || %s == nil || %s)", c.v, c.v, s)
	}
	return s
}

// Contains: a substring of a string field, an element of an array field.
func (c *cond) contains(string) string {
	subs, ok := c.strings()
	if !ok {
		return c.fail("contains: want a string or strings")
	}
	e := c.g.fresh("e")
	var onStr, onElem []string
	for _, s := range subs {
		q := strconv.Quote(s)
		if c.fold {
			onStr = append(onStr, fmt.Sprintf("containsFold(%s, %s)", c.v, q))
			onElem = append(onElem, fmt.Sprintf("eqFold(%s, %s)", e, q))
		} else {
			onStr = append(onStr, fmt.Sprintf("%s contains %s", c.v, q))
			onElem = append(onElem, fmt.Sprintf("%s == %s", e, q))
		}
	}
	return fmt.Sprintf("(type(%s) == \"string\" ? %s : type(%s) == \"array\" && any(%s, {let %s = #; type(%s) == \"string\" && %s}))",
		c.v, or(onStr), c.v, c.v, e, e, or(onElem))
}

// String affix: starts_with, ends_with; infix is expr's operator, fold
// the helper used under ignore_case.
func affix(infix, fold string) builder {
	return func(c *cond, op string) string {
		subs, ok := c.strings()
		if !ok {
			return c.fail("%s: want a string or strings", op)
		}
		return c.anyElem(func(x string) string {
			var alts []string
			for _, s := range subs {
				q := strconv.Quote(s)
				if c.fold {
					alts = append(alts, fmt.Sprintf("%s(%s, %s)", fold, x, q))
				} else {
					alts = append(alts, fmt.Sprintf("%s %s %s", x, infix, q))
				}
			}
			return fmt.Sprintf("(type(%s) == \"string\" && %s)", x, or(alts))
		})
	}
}

// Regex: an unanchored RE2 search on string fields.
func (c *cond) regex(string) string {
	pat, ok := c.val.(string)
	if !ok {
		return c.fail("regex: want a pattern")
	}
	if len(pat) > maxSource {
		return c.fail("regex: the pattern is longer than %d bytes", maxSource)
	}
	if c.fold {
		pat = "(?i)" + pat
	}
	if _, err := regexp.Compile(pat); err != nil {
		return c.fail("regex: %v", err)
	}
	return c.anyElem(func(x string) string {
		return fmt.Sprintf("(type(%s) == \"string\" && %s matches %s)", x, x, strconv.Quote(pat))
	})
}

// Presence: is_set.
func (c *cond) isSet(string) string { return "(" + c.present() + ")" }

// Emptiness: is_empty (missing, null, "", [] or {}).
func (c *cond) isEmpty(string) string {
	return fmt.Sprintf("(missing(%s) || %s == nil || %s == \"\" || (type(%s) in [\"array\", \"map\"] && len(%s) == 0))",
		c.v, c.v, c.v, c.v, c.v)
}

// Dates: before, after (strict).
func dateCompare(sym string) builder {
	return func(c *cond, op string) string {
		d, ok := c.date(c.val)
		if !ok {
			return c.fail("%s: want a date", op)
		}
		return c.dateTest(func(t string) string { return fmt.Sprintf("%s %s %s", t, sym, timeLit(d)) })
	}
}

// Dates: date_between [from, to], inclusive.
func (c *cond) dateBetween(string) string {
	b, ok := c.val.([]any)
	if !ok || len(b) != 2 {
		return c.fail("date_between: want [from, to]")
	}
	from, ok1 := c.date(b[0])
	to, ok2 := c.date(b[1])
	if !ok1 || !ok2 {
		return c.fail("date_between: want dates")
	}
	if to.Before(from) {
		return c.fail("date_between: from is later than to")
	}
	return c.dateTest(func(t string) string {
		return fmt.Sprintf("%s >= %s && %s <= %s", t, timeLit(from), t, timeLit(to))
	})
}

// Relative dates: within_last, now - d <= field <= now.
func (c *cond) withinLast(op string) string {
	back, _, ok := c.span()
	if !ok {
		return c.fail("%s: want a duration", op)
	}
	now := timeLit(c.g.now)
	return c.dateTest(func(t string) string { return fmt.Sprintf("%s >= %s && %s <= %s", t, timeLit(back), t, now) })
}

// Relative dates: within_next, now <= field <= now + d.
func (c *cond) withinNext(op string) string {
	_, fwd, ok := c.span()
	if !ok {
		return c.fail("%s: want a duration", op)
	}
	now := timeLit(c.g.now)
	return c.dateTest(func(t string) string { return fmt.Sprintf("%s >= %s && %s <= %s", t, now, t, timeLit(fwd)) })
}

// SemVer: semver_eq .. semver_lte by precedence (semverCmp).
func semverOrder(sym string) builder {
	return func(c *cond, op string) string {
		ref, ok := c.val.(string)
		if !ok {
			return c.fail("%s: want a version", op)
		}
		if _, ok := semverCanon(ref); !ok {
			return c.fail("%s: %q is not SemVer", op, ref)
		}
		return c.anyElem(func(x string) string {
			k := c.g.fresh("k")
			return fmt.Sprintf("(let %s = semverCmp(%s, %s); %s != nil && %s %s 0)", k, x, strconv.Quote(ref), k, k, sym)
		})
	}
}

// elems is the field as an array (a scalar field is a one-element array),
// for contains_any / contains_all.
func (c *cond) elems() string {
	return fmt.Sprintf("(type(%s) == \"array\" ? %s : [%s])", c.v, c.v, c.v)
}

// contains_any: the field shares an element with the value.
func (c *cond) containsAny(op string) string {
	list, ok := c.val.([]any)
	if !ok {
		return c.fail("%s: want an array", op)
	}
	e := c.g.fresh("e")
	return fmt.Sprintf("(%s && any(%s, {let %s = #; %s}))", c.present(), c.elems(), e, c.member(e, list))
}

// contains_all: every element of the value is in the field.
func (c *cond) containsAll(op string) string {
	list, ok := c.val.([]any)
	if !ok {
		return c.fail("%s: want an array", op)
	}
	elems := c.elems()
	parts := []string{c.present()}
	for _, want := range list {
		e := c.g.fresh("e")
		parts = append(parts, fmt.Sprintf("any(%s, {let %s = #; %s})", elems, e, c.equal(e, want)))
	}
	return "(" + strings.Join(parts, " && ") + ")"
}

// elem_match: some element of an array field satisfies the whole group.
func (c *cond) elemMatch(string) string {
	m, ok := c.val.(map[string]any)
	if !ok {
		return c.fail("elem_match: want a group")
	}
	grp, err := filter.DecodeGroup(c.raw, "/value", c.depth+1)
	if err != nil || m["filters"] == nil {
		return c.fail("elem_match: %v", err)
	}
	r := c.g.fresh("r")
	inner := c.g.group(grp.Match, grp.Filters, r, grp.Negate, c.depth+1)
	return fmt.Sprintf("(type(%s) == \"array\" && any(%s, {let %s = #; %s}))", c.v, c.v, r, inner)
}

// CIDR: in_cidr, an address inside one of the networks.
func (c *cond) inCIDR(string) string {
	nets, ok := c.strings()
	if !ok {
		return c.fail("in_cidr: want a CIDR or an address")
	}
	var qs []string
	for _, n := range nets {
		if _, ok := prefixOf(n); !ok {
			return c.fail("in_cidr: %q is not a CIDR", n)
		}
		qs = append(qs, strconv.Quote(n))
	}
	list := "[" + strings.Join(qs, ", ") + "]"
	return c.anyElem(func(x string) string {
		return fmt.Sprintf("(type(%s) == \"string\" && inCIDR(%s, %s))", x, x, list)
	})
}

// expr: an expr-lang expression over the field's value, compiled here
// with the limits docs/semantics.md sets.
func (c *cond) expr(string) string {
	src, ok := c.val.(string)
	if !ok {
		return c.fail("expr: want a string")
	}
	if len(src) > maxSource {
		return c.fail("expr: the expression is longer than %d bytes", maxSource)
	}
	prog, err := expr.Compile(src, expr.AllowUndefinedVariables(), expr.AsBool(),
		expr.DisableBuiltin("now"), expr.MaxNodes(1000))
	if err != nil {
		return c.fail("expr: %v", err)
	}
	if callsOut(prog) {
		return c.fail("expr: an expression may call expr's builtins only")
	}
	c.g.p.subs = append(c.g.p.subs, prog)
	// sub's third argument is only there so that Source shows the
	// expression.
	return fmt.Sprintf("(%s && sub(%d, %s, %s))", c.present(), len(c.g.p.subs)-1, c.v, strconv.Quote(src))
}

// maxSource is the longest regex pattern (docs/semantics.md: at most 4 KiB)
// and the longest expr expression (docs/semantics.md bounds its size; the
// product's bound is the same 4 KiB), in bytes, as written (before
// ignore_case's "(?i)").
const maxSource = 4096

// callsOut reports whether a compiled expression calls anything but an
// expr builtin (those compile to builtin nodes, not call nodes). A
// decoded contact holds no functions, so such a call is either the
// disabled clock (now()) read as an unknown name, or something that could
// only fail at run time: docs/semantics.md wants expressions that see the
// contact and nothing else, so every call node is rejected at compile time.
func callsOut(prog *vm.Program) bool {
	root := prog.Node()
	var v callSeen
	ast.Walk(&root, &v)
	return bool(v)
}

// callSeen is an ast.Visitor that records whether it met a call node.
type callSeen bool

func (s *callSeen) Visit(n *ast.Node) {
	if _, ok := (*n).(*ast.CallNode); ok {
		*s = true
	}
}

// equal is rule 1 equality of the variable x with one constant: a number
// equals a number or a numeric string; a string only a string (folded
// under ignore_case); a bool only a bool; null nothing (an element or a
// present field is never "equal to null").
func (c *cond) equal(x string, want any) string {
	switch t := want.(type) {
	case float64:
		return fmt.Sprintf("num(%s) == %s", x, numLit(t))
	case string:
		if c.fold {
			return fmt.Sprintf("eqFold(%s, %s)", x, strconv.Quote(t))
		}
		return fmt.Sprintf("(type(%s) == \"string\" && %s == %s)", x, x, strconv.Quote(t))
	case bool:
		return fmt.Sprintf("(type(%s) == \"bool\" && %s == %t)", x, x, t)
	case nil:
		return "false"
	}
	return c.fail("want a scalar, got %T", want)
}

// member: x equals some element of list (rule 1), using expr's "in" for
// the exact comparisons.
func (c *cond) member(x string, list []any) string {
	var strs, nums, bools []string
	for _, e := range list {
		switch t := e.(type) {
		case string:
			strs = append(strs, strconv.Quote(t))
		case float64:
			nums = append(nums, numLit(t))
		case bool:
			bools = append(bools, strconv.FormatBool(t))
		case nil:
		default:
			return c.fail("want scalars, got %T", e)
		}
	}
	var alts []string
	if len(strs) > 0 {
		if c.fold {
			alts = append(alts, fmt.Sprintf("(type(%s) == \"string\" && any([%s], {eqFold(%s, #)}))", x, strings.Join(strs, ", "), x))
		} else {
			alts = append(alts, fmt.Sprintf("(type(%s) == \"string\" && %s in [%s])", x, x, strings.Join(strs, ", ")))
		}
	}
	if len(nums) > 0 {
		alts = append(alts, fmt.Sprintf("num(%s) in [%s]", x, strings.Join(nums, ", ")))
	}
	if len(bools) > 0 {
		alts = append(alts, fmt.Sprintf("(type(%s) == \"bool\" && %s in [%s])", x, x, strings.Join(bools, ", ")))
	}
	return or(alts)
}

// strings reads a string or an array of strings.
func (c *cond) strings() ([]string, bool) {
	switch t := c.val.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// date reads a filter date (string or epoch milliseconds).
func (c *cond) date(x any) (time.Time, bool) {
	var t time.Time
	var ok bool
	switch v := x.(type) {
	case string:
		t, ok = parseDate(v)
	case float64:
		t, ok = millis(v)
	}
	return t, ok
}

// dateTest lifts a test of the field's date to rule 2.
func (c *cond) dateTest(test func(t string) string) string {
	return c.anyElem(func(x string) string {
		t := c.g.fresh("t")
		return fmt.Sprintf("(let %s = dateOf(%s); %s != nil && %s)", t, x, t, test(t))
	})
}

var durationRE = regexp.MustCompile(`^(\d+)(s|m|h|d|w|mo|y)$`)

// span returns now - d and now + d for the duration value; months and
// years are calendar units (AddDate).
func (c *cond) span() (back, fwd time.Time, ok bool) {
	s, _ := c.val.(string)
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return back, fwd, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return back, fwd, false
	}
	now := c.g.now
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	switch m[2] {
	case "mo":
		return now.AddDate(0, -n, 0), now.AddDate(0, n, 0), true
	case "y":
		return now.AddDate(-n, 0, 0), now.AddDate(n, 0, 0), true
	}
	d := time.Duration(n) * unit[m[2]]
	if d/unit[m[2]] != time.Duration(n) {
		return back, fwd, false
	}
	return now.Add(-d), now.Add(d), true
}

func or(alts []string) string {
	if len(alts) == 0 {
		return "false"
	}
	return "(" + strings.Join(alts, " || ") + ")"
}

// numLit writes a float64 as an expr float literal that reads back
// exactly.
func numLit(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic("oracle: non-finite constant")
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// timeLit writes a time literal: ts("RFC 3339") when the year fits the
// format, else unixTime(sec, nsec).
func timeLit(t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y >= 0 && y <= 9999 {
		return fmt.Sprintf("ts(%q)", t.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("unixTime(%d, %d)", t.Unix(), t.Nanosecond())
}
