// Package sqlgen pushes segments down to PostgreSQL: it compiles a segment
// into a WHERE clause over a jsonb column that selects exactly the
// contacts segmatch.Program.MatchJSON matches (docs/semantics.md), for every
// operator except expr (Pushable says which, and why not). Operator
// names and aliases are the registry's (operators.Positive); each
// positive operator's SQL is written by the builder of its family
// (builders), a negative one is NOT of its twin.
//
// Every value and every field-path key is a bind parameter ($1, $2, ...);
// the only identifier written into the SQL is the column, quoted with
// pgx.Identifier (a jsonpath's keys and constants are in its text, itself
// a parameter). The clause calls a few helper functions (segmatch_*)
// that Install creates; they are IMMUTABLE and never raise, whatever a
// row holds. The ones called per element are SQL expressions that the
// planner inlines (the clause only passes them columns and cheap
// expressions), so that no plpgsql runs per row on common data.
//
// Mapping (V is the field's value as jsonb, SQL NULL when missing: #> when
// no prefix of the path is an array; a fan-out over arrays is read by a lax
// SQL/JSON path, [*] before each key flattening nested arrays as the
// engine does, and materialised as the jsonb array of the values reached;
// segmatch_get, a plpgsql walk, serves paths with an index or '#' and
// arrays nested deeper than the path flattens. "Any element" is EXISTS
// over the elements when V is an array, else the test on V itself; on a
// fan-out, EXISTS over the path's items. For string and bool equality it
// is one jsonb_path_exists with the test as a filter, and for dates
// segmatch_date_some over an array, so that these clauses hold no
// subquery, which lets PostgreSQL scan for them in parallel workers):
//
//	eq/ne/in/not_in        jsonb equality for strings and bools, segmatch_num (rule 1) for numbers
//	gt..lte, between       float8 order on segmatch_num, or text order COLLATE "C" (byte-wise)
//	contains, starts/ends  strpos / starts_with / right() on the text; array elements by equality
//	ignore_case            segmatch_fold on both sides (Unicode simple folding, as Go)
//	regex                  the RE2 parse tree rewritten as a PostgreSQL ARE (see regex.go)
//	is_set/is_empty        tests on V and jsonb_typeof(V)
//	dates                  segmatch_date_text / _ms: exact epoch seconds (numeric, ns precision); bounds
//	                       from Go; a string is parsed only when its day is within two days of them
//	semver_*               segmatch_semver_key: a text key whose byte order is SemVer precedence
//	contains_any/all/none  any-element membership, as in / all of
//	elem_match             EXISTS over the elements, the group compiled against each element
//	in_cidr                segmatch_inet(text) <<= ANY(cidr[]) (IPv4-mapped addresses unmapped)
//	negations              NOT of the positive twin, which is never NULL (COALESCE(..., false))
//
// GIN: when the field is a single top-level key, eq / in / contains_any /
// contains_all with string or bool values (without ignore_case) and is_set
// add a containment (@>) or key-exists (?) pre-test that a GIN index on the
// column (jsonb_ops, the default opclass) answers; the exact test still
// follows, so the index only narrows the scan. Pre-tests are not added
// under a negation. They assume the column holds JSON objects, which
// contacts are.
package sqlgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// ErrNotPushable: the segment uses something SQL cannot evaluate with the
// same meaning (the expr operator, or a regex PostgreSQL cannot express).
var ErrNotPushable = errors.New("not pushable to SQL")

// Option configures Where.
type Option func(*config)

type config struct {
	now   time.Time
	first int
	hints bool
}

// WithNow fixes now for relative dates (within_last, within_next); the
// default is time.Now() at the call. The bounds are computed in Go and
// passed as parameters.
func WithNow(t time.Time) Option { return func(c *config) { c.now = t } }

// WithFirstParam numbers the parameters from $n+1 (default $1), for a
// clause appended to a query that already has n parameters.
func WithFirstParam(n int) Option { return func(c *config) { c.first = n } }

// WithoutIndexHints leaves out the GIN pre-tests (they are harmless but
// assume the column holds objects).
func WithoutIndexHints() Option { return func(c *config) { c.hints = false } }

// Where compiles seg into a boolean SQL expression over the jsonb column
// and its arguments. The segment is first compiled with segmatch.Compile,
// so an invalid segment reports the same errors. A segment using expr (or
// an untranslatable regex) is an error wrapping ErrNotPushable.
func Where(seg filter.Segment, column string, opts ...Option) (clause string, args []any, err error) {
	cfg := config{hints: true}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now.IsZero() {
		cfg.now = time.Now()
	}
	now := cfg.now
	if _, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now })); err != nil {
		return "", nil, err
	}
	g := &gen{cfg: cfg, col: colMark}
	clause, err = g.group(seg.Match, seg.Filters, g.col, "", true)
	if err != nil {
		return "", nil, err
	}
	clause, args = g.renumber(clause)
	return strings.ReplaceAll(clause, colMark, pgx.Identifier{column}.Sanitize()), args, nil
}

// colMark stands for the column while the clause is built (no value ever
// reaches the SQL text, so it cannot be forged), so that renumber never
// reads a "$" inside a quoted column name.
const colMark = "\x00col\x00"

var paramRE = regexp.MustCompile(`\$[0-9]+`)

// renumber drops the parameters the clause does not use (PostgreSQL
// cannot type an unused parameter) and numbers the rest densely.
func (g *gen) renumber(clause string) (string, []any) {
	used := map[int]bool{}
	for _, m := range paramRE.FindAllString(clause, -1) {
		n, _ := strconv.Atoi(m[1:])
		used[n-g.cfg.first] = true
	}
	newNum := map[int]int{}
	var args []any
	for i, a := range g.args {
		if used[i+1] {
			args = append(args, a)
			newNum[i+1] = g.cfg.first + len(args)
		}
	}
	clause = paramRE.ReplaceAllStringFunc(clause, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		return "$" + strconv.Itoa(newNum[n-g.cfg.first])
	})
	return clause, args
}

// hasNUL: PostgreSQL text cannot hold U+0000, so no contact string in the
// database contains it; constants that do are resolved in Go.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// nulFree keeps the strings without U+0000 (the others cannot equal,
// prefix or be contained in a database string).
func nulFree(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if !hasNUL(s) {
			out = append(out, s)
		}
	}
	return out
}

type gen struct {
	cfg   config
	col   string
	args  []any
	alias int
}

func (g *gen) arg(x any) string {
	g.args = append(g.args, x)
	return "$" + strconv.Itoa(g.cfg.first+len(g.args))
}

func (g *gen) newAlias() string {
	g.alias++
	return "_e" + strconv.Itoa(g.alias)
}

// group compiles filters combined by match. positive is false under an
// odd number of negations (no index pre-tests there).
func (g *gen) group(match filter.Match, fs []filter.Filter, root, ptr string, positive bool) (string, error) {
	if len(fs) == 0 {
		return "TRUE", nil
	}
	op := " AND "
	if match == filter.Any {
		op = " OR "
	}
	parts := make([]string, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		fptr := ptr + "/filters/" + strconv.Itoa(i)
		var s string
		var err error
		pos := positive != f.Negate
		if f.IsGroup() {
			s, err = g.group(f.Match, f.Filters, root, fptr, pos)
		} else {
			s, err = g.cond(f, root, fptr, pos)
		}
		if err != nil {
			return "", err
		}
		if f.Negate {
			s = "NOT " + s
		}
		parts = append(parts, s)
	}
	return "(" + strings.Join(parts, op) + ")", nil
}

// field is a field path compiled against a root: its value, and what
// "some element" (rule 2) iterates.
type field struct {
	// v is the value as jsonb (SQL NULL when missing; a fan-out is
	// materialised as the jsonb array of the values reached, arrays
	// reached flattened one level).
	v string
	// fan is a condition under which the path may fan out (some prefix of
	// it is an array); "" when it cannot. When it is false, the value is
	// fast, an expression of a few operators only (so that the inlinable
	// helper functions applied to it are inlined).
	fan, fast string
	// When native, the fan-out is read by SQL/JSON path: elems (a
	// jsonpath parameter) yields, from root, the candidate elements (the
	// values reached, arrays flattened one level), exactly when guard is
	// false (arrays nested at most flatDepth+1 deep where the path fans
	// out); slow is segmatch_get, exact on anything.
	native            bool
	root, elems, slow string
	reachedPath       string // the path of the values reached (elems without its last [*])
	guard             string
}

// flatDepth is how many lax [*] steps precede each key of a native
// path: lax mode unwraps one more level at the key itself, so arrays
// nested up to flatDepth+1 deep are flattened as a fan-out flattens them
// (rawjson.ForEachFlat); deeper ones are left to segmatch_get.
const flatDepth = 2

// jsonpathKey writes a key as a jsonpath member accessor.
func jsonpathKey(k string) string { return "." + jpLiteral(k) }

// jpLiteral writes a string or bool as a jsonpath literal (a string with
// JSON's escapes, which jsonpath string literals accept).
func jpLiteral(x any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(x)
	return strings.TrimSuffix(b.String(), "\n")
}

// path compiles a field path read from root.
func (g *gen) path(p filter.Path, root string) *field {
	if len(p) == 0 {
		return &field{v: root, fast: root}
	}
	for _, st := range p {
		if hasNUL(st.Key) || !utf8.ValidString(st.Key) {
			// PostgreSQL text holds neither: no object has such a key,
			// which is always missing.
			return &field{v: "NULL::jsonb", fast: "NULL::jsonb"}
		}
	}
	keys := make([]string, len(p))
	kinds := make([]int32, len(p))
	native := true
	for i, st := range p {
		keys[i] = st.Key
		switch {
		case st.Len:
			kinds[i] = 2
			native = false
		case st.Index >= 0:
			kinds[i] = 1
			native = false
		}
	}
	k := g.arg(keys) + "::text[]"
	slow := fmt.Sprintf("segmatch_get(%s, %s, %s::int[])", root, k, g.arg(kinds))
	if !native {
		return &field{v: slow}
	}
	// Keys all the way: when no prefix of the path is an array, #> is the
	// answer; when one is, the path fans out, which a lax SQL/JSON path
	// reads natively ([*] flattens an array and passes anything else
	// through; a key reads an object's member and nothing else).
	var arrays []string
	arrays = append(arrays, fmt.Sprintf("jsonb_typeof(%s) = 'array'", root))
	for i := 1; i < len(p); i++ {
		arrays = append(arrays, fmt.Sprintf("jsonb_typeof(%s #> (%s)[1:%d]) = 'array'", root, k, i))
	}
	fast := fmt.Sprintf("%s #> %s", root, k)
	if len(p) == 1 {
		fast = fmt.Sprintf("%s -> (%s)[1]", root, k)
	}
	flat := strings.Repeat("[*]", flatDepth)
	jp := "lax $"
	var deep []string // arrays nested too deep before key i (the root's own nesting is the first test)
	for i, key := range keys {
		if i > 0 {
			deep = append(deep, "exists(@"+jp[len("lax $"):]+flat+` ? (@.type() == "array"))`)
		}
		jp += flat + jsonpathKey(key)
	}
	guard := fmt.Sprintf("jsonb_typeof(%s) = 'array'", root)
	if len(deep) > 0 {
		guard = fmt.Sprintf("(%s OR jsonb_path_exists(%s, %s::text::jsonpath))", guard, root, g.arg("lax $ ? ("+strings.Join(deep, " || ")+")"))
	}
	f := &field{
		fan: "(" + strings.Join(arrays, " OR ") + ")", fast: fast,
		native: true, root: root, slow: slow,
		reachedPath: jp,
		elems:       g.arg(jp+"[*]") + "::text::jsonpath",
		guard:       guard,
	}
	reached := fmt.Sprintf("CASE WHEN jsonb_path_exists(%s, %s::text::jsonpath) THEN jsonb_path_query_array(%s, %s) END", root, g.arg(jp), root, f.elems)
	f.v = fmt.Sprintf("(CASE WHEN %s THEN (CASE WHEN %s THEN %s ELSE %s END) ELSE %s END)", f.fan, f.guard, slow, reached, fast)
	return f
}

// anyElem is rule 2 and 4: the test on some element when the field is
// an array (or fans out), else on the value; false on missing. t is
// called several times and must only use parameters allocated before;
// it is only ever given a column of a set-returning function or the
// field's fast expression, so that the helpers it calls are inlined.
func (g *gen) anyElem(f *field, t func(e string) string) string {
	return g.anyElemSome(f, t, nil)
}

// anyElemJP is anyElem where jp, when not "", is the same test as a
// jsonpath filter on @ (no parameters: its constants are in the path
// text, itself a parameter), which reads a fan-out in one call and an
// array without a subquery.
func (g *gen) anyElemJP(f *field, t func(e string) string, jp string) string {
	if jp == "" {
		return g.anyElem(f, t)
	}
	// lax mode unwraps the array given to the filter one level, as [*]
	// would, and no further (an element that is an array is tested as
	// one: jpEquals tests the type).
	some := fmt.Sprintf("jsonb_path_exists(%%s, %s::text::jsonpath)", g.arg("lax $ ? ("+jp+")"))
	s := g.anyElemSome(f, t, func(arr string) string { return fmt.Sprintf(some, arr) })
	if !f.native || f.fan == "" {
		return s
	}
	// The fan-out: not elems, whose items a filter would unwrap once
	// more; the filter goes on the values reached.
	fan := fmt.Sprintf("jsonb_path_exists(%s, %s::text::jsonpath)", f.root, g.arg(f.reachedPath+" ? ("+jp+")"))
	return g.fanOut(f, fan, fmt.Sprintf(some, f.slow), g.fastElem(f, t, func(arr string) string { return fmt.Sprintf(some, arr) }))
}

// anyElemSome is anyElem where some, when not nil, writes without a
// subquery the test that t holds for some element of a jsonb array (or
// for a non-array value itself): a clause without subqueries (SubPlans)
// is one PostgreSQL can run in parallel workers.
func (g *gen) anyElemSome(f *field, t func(e string) string, some func(arr string) string) string {
	fan := func() string { return some("jsonb_path_query_array(" + f.root + ", " + f.elems + ")") }
	if some == nil {
		some = func(arr string) string { return g.elemsOf(arr, "'lax $[*]'::jsonpath", t) }
		fan = func() string { return g.elemsOf(f.root, f.elems, t) }
	}
	if !f.native {
		return some(f.v)
	}
	fast := g.fastElem(f, t, some)
	if f.fan == "" {
		return fast
	}
	return g.fanOut(f, fan(), some(f.slow), fast)
}

// fastElem is the test of a field that does not fan out: on some element
// of an array, else on the value itself.
func (g *gen) fastElem(f *field, t func(e string) string, some func(arr string) string) string {
	return fmt.Sprintf("(CASE WHEN jsonb_typeof(%s) = 'array' THEN %s ELSE COALESCE(%s, false) END)", f.fast, some(f.fast), t(f.fast))
}

// fanOut combines the tests of a field that may fan out: fan on what the
// SQL/JSON path reads, slow on segmatch_get's values, fast when no prefix
// of the path is an array. The path reads a subset of the elements (all
// of them unless the guard holds: arrays nested too deep are skipped),
// so its answer stands when true and the guard is only read when it is
// false.
func (g *gen) fanOut(f *field, fan, slow, fast string) string {
	return fmt.Sprintf("(CASE WHEN %s THEN (%s OR (%s AND %s)) ELSE %s END)", f.fan, fan, f.guard, slow, fast)
}

// jpEquals is the jsonpath filter of equality with strings and bools
// (exact: jsonpath compares strings byte-wise; the type test keeps lax
// mode from unwrapping an array element); "" when xs holds anything else,
// a fold or a NUL.
func jpEquals(xs []any, fold bool) string {
	var types, eqs []string
	seen := map[string]bool{}
	for _, x := range xs {
		var typ string
		switch c := x.(type) {
		case string:
			if fold || hasNUL(c) || !utf8.ValidString(c) {
				return ""
			}
			typ = "string"
		case bool:
			typ = "boolean"
		default:
			return ""
		}
		if !seen[typ] {
			seen[typ] = true
			types = append(types, `@.type() == "`+typ+`"`)
		}
		eqs = append(eqs, "@ == "+jpLiteral(x))
	}
	if len(eqs) == 0 {
		return ""
	}
	return "(" + strings.Join(types, " || ") + ") && (" + strings.Join(eqs, " || ") + ")"
}

// elemsOf: t holds for some item the jsonpath yields from v.
func (g *gen) elemsOf(v, jp string, t func(e string) string) string {
	a := g.newAlias()
	return fmt.Sprintf("EXISTS (SELECT 1 FROM jsonb_path_query(%s, %s) AS %s(v) WHERE %s)", v, jp, a, t(a+".v"))
}

func isNilSQL(v string) string {
	return fmt.Sprintf("(%s IS NULL OR jsonb_typeof(%s) = 'null')", v, v)
}

// scalar reads one JSON scalar of a filter value.
func scalar(raw json.RawMessage) any {
	var x any
	_ = json.Unmarshal(raw, &x)
	return x
}

func jsonText(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// cond compiles one condition (the positive twin; the caller negates).
func (g *gen) cond(f *filter.Filter, root, ptr string, positive bool) (string, error) {
	op, neg, ok := operators.Positive(f.Operator)
	if !ok {
		return "", fmt.Errorf("%s: unknown operator %q", ptr, f.Operator)
	}
	if neg {
		positive = !positive
	}
	p, err := filter.ParsePath(f.Field)
	if err != nil {
		return "", fmt.Errorf("%s/field: %w", ptr, err)
	}
	s, err := g.positive(op, f, p, root, ptr, positive)
	if err != nil {
		return "", err
	}
	s = "COALESCE(" + s + ", false)"
	if pre := g.hint(op, f, p, root, positive); pre != "" {
		s = "(" + pre + " AND " + s + ")"
	}
	if neg {
		s = "(NOT " + s + ")"
	}
	return s, nil
}

// hint is the GIN pre-test of a condition, or "".
func (g *gen) hint(op string, f *filter.Filter, p filter.Path, root string, positive bool) string {
	if !g.cfg.hints || !positive || root != g.col || len(p) != 1 || p[0].Len || p[0].Index >= 0 {
		return ""
	}
	key := p[0].Key
	if hasNUL(key) || strings.Contains(string(f.Value), `\u0000`) {
		return ""
	}
	forms := func(x any) []string { // the containments one element needs
		return []string{
			fmt.Sprintf("%s @> %s::text::jsonb", g.col, g.arg(jsonText(map[string]any{key: x}))),
			fmt.Sprintf("%s @> %s::text::jsonb", g.col, g.arg(jsonText(map[string]any{key: []any{x}}))),
		}
	}
	indexable := func(xs []any) bool {
		for _, x := range xs {
			switch x.(type) {
			case string:
				if f.IgnoreCase {
					return false
				}
			case bool:
			default:
				return false
			}
		}
		return len(xs) > 0
	}
	var list []any
	switch op {
	case "eq":
		x := scalar(f.Value)
		if x == nil || !indexable([]any{x}) {
			return ""
		}
		return "(" + strings.Join(forms(x), " OR ") + ")"
	case "in", "contains_any":
		_ = json.Unmarshal(f.Value, &list)
		if !indexable(list) {
			return ""
		}
		var ors []string
		for _, x := range list {
			ors = append(ors, forms(x)...)
		}
		return "(" + strings.Join(ors, " OR ") + ")"
	case "contains_all":
		_ = json.Unmarshal(f.Value, &list)
		if !indexable(list) {
			return ""
		}
		var ands []string
		for _, x := range list {
			ands = append(ands, "("+strings.Join(forms(x), " OR ")+")")
		}
		return "(" + strings.Join(ands, " AND ") + ")"
	case "is_set":
		return fmt.Sprintf("%s ? %s::text", g.col, g.arg(key))
	}
	return ""
}

// strOf is the SQL expression for the text of e when e is a JSON string,
// NULL otherwise.
func strOf(e string) string {
	return fmt.Sprintf("(CASE WHEN jsonb_typeof(%s) = 'string' THEN %s #>> '{}' END)", e, e)
}

// leaf is one condition as a builder sees it: op its positive canonical
// operator, v the SQL jsonb expression of the field (already built, so
// its parameters come first), ptr the filter's JSON Pointer, positive
// false under an odd number of negations.
type leaf struct {
	op       string
	f        *filter.Filter
	v        string // the field's value (fld.v)
	fld      *field
	ptr      string
	positive bool
	fold     bool
}

// builder writes the SQL test of one positive operator (one builder
// serves a family).
type builder func(g *gen, l *leaf) (string, error)

// builders maps every positive canonical operator that SQL evaluates to
// the builder of its family; notPushable lists the others, with the
// reason. A negative operator is NOT of its twin (cond). The coverage
// test holds the two to the registry: every operator is in exactly one.
// builders is filled in init: elem_match's builder compiles a group,
// which reaches positive again.
var builders map[string]builder

var notPushable = map[string]string{
	"expr": "expr is evaluated only in memory",
}

func init() {
	builders = map[string]builder{
		"eq":           (*gen).eq,
		"gt":           order(">"),
		"gte":          order(">="),
		"lt":           order("<"),
		"lte":          order("<="),
		"between":      (*gen).between,
		"in":           (*gen).member,
		"contains_any": (*gen).member,
		"contains_all": (*gen).containsAll,
		"contains":     (*gen).contains,
		"starts_with":  affix(startsWith),
		"ends_with":    affix(endsWith),
		"regex":        (*gen).regex,
		"is_set":       (*gen).isSet,
		"is_empty":     (*gen).isEmpty,
		"before":       dateCompare("<"),
		"after":        dateCompare(">"),
		"date_between": (*gen).dateBetween,
		"within_last":  (*gen).within,
		"within_next":  (*gen).within,
		"semver_eq":    semverOrder("="),
		"semver_gt":    semverOrder(">"),
		"semver_gte":   semverOrder(">="),
		"semver_lt":    semverOrder("<"),
		"semver_lte":   semverOrder("<="),
		"in_cidr":      (*gen).inCIDR,
		"elem_match":   (*gen).elemMatch,
	}
}

// Pushable reports whether SQL evaluates the operator (any accepted
// spelling; a negative operator is its twin's case), and when it does
// not, why. An unknown spelling is not pushable. A pushable regex may
// still use a construct PostgreSQL cannot express (Where says so).
func Pushable(operator string) (ok bool, reason string) {
	name, _, known := operators.Positive(operator)
	if !known {
		return false, "unknown operator"
	}
	if why, listed := notPushable[name]; listed {
		return false, why
	}
	if _, ok := builders[name]; ok {
		return true, ""
	}
	return false, "operator " + name + " has no SQL translation"
}

func (g *gen) positive(op string, f *filter.Filter, p filter.Path, root, ptr string, positive bool) (string, error) {
	fld := g.path(p, root)
	l := &leaf{op: op, f: f, v: fld.v, fld: fld, ptr: ptr, positive: positive, fold: f.IgnoreCase}
	if why, ok := notPushable[op]; ok {
		return "", fmt.Errorf("%s: %w: %s", ptr, ErrNotPushable, why)
	}
	if b, ok := builders[op]; ok {
		return b(g, l)
	}
	return "", l.untranslated()
}

// untranslated: a value this operator's builder has no SQL for (never a
// valid one: Where compiles the segment first).
func (l *leaf) untranslated() error {
	return fmt.Errorf("%s: %w: operator %s", l.ptr, ErrNotPushable, l.op)
}

// Equality: eq (ne is its complement); eq null is is_not_set.
func (g *gen) eq(l *leaf) (string, error) {
	x := scalar(l.f.Value)
	if x == nil {
		return isNilSQL(l.v), nil
	}
	t := g.equalsTest(x, l.fold)
	return g.anyElemJP(l.fld, t, jpEquals([]any{x}, l.fold)), nil
}

// Order: gt, gte, lt, lte: float8 order on segmatch_num, or byte-wise
// text order.
func order(sym string) builder {
	return func(g *gen, l *leaf) (string, error) {
		switch x := scalar(l.f.Value).(type) {
		case float64:
			c := g.arg(x) + "::float8"
			return g.anyElem(l.fld, func(e string) string { return fmt.Sprintf("segmatch_num(%s) %s %s", e, sym, c) }), nil
		case string:
			bound, bsym := nulBound(x, sym) // not sym itself: the builder is shared
			c := g.arg(bound) + "::text"
			return g.anyElem(l.fld, func(e string) string {
				return fmt.Sprintf("%s COLLATE \"C\" %s %s COLLATE \"C\"", strOf(e), bsym, c)
			}), nil
		}
		return "", l.untranslated()
	}
}

// Between: [lo, hi] numbers or strings, inclusive.
func (g *gen) between(l *leaf) (string, error) {
	var b [2]any
	_ = json.Unmarshal(l.f.Value, &b)
	switch lo := b[0].(type) {
	case float64:
		lp, hp := g.arg(lo)+"::float8", g.arg(b[1].(float64))+"::float8"
		return g.anyElem(l.fld, func(e string) string {
			return fmt.Sprintf("segmatch_num(%s) BETWEEN %s AND %s", e, lp, hp)
		}), nil
	case string:
		lo, lsym := nulBound(lo, ">=")
		hi, hsym := nulBound(b[1].(string), "<=")
		lp, hp := g.arg(lo)+"::text", g.arg(hi)+"::text"
		return g.anyElem(l.fld, func(e string) string {
			return fmt.Sprintf("(%s COLLATE \"C\" %s %s AND %s COLLATE \"C\" %s %s)", strOf(e), lsym, lp, strOf(e), hsym, hp)
		}), nil
	}
	return "", l.untranslated()
}

// Set membership: in and contains_any (a scalar field is one element);
// a null in an in list matches a missing or null field.
func (g *gen) member(l *leaf) (string, error) {
	var list []json.RawMessage
	_ = json.Unmarshal(l.f.Value, &list)
	t, hasNull := g.memberTest(list, l.fold)
	var xs []any
	for _, r := range list {
		if x := scalar(r); x != nil {
			xs = append(xs, x)
		}
	}
	s := g.anyElemJP(l.fld, t, jpEquals(xs, l.fold))
	if l.op == "in" && hasNull {
		s = "(" + isNilSQL(l.v) + " OR " + s + ")"
	}
	return s, nil
}

// contains_all: every element of the value is in the field.
func (g *gen) containsAll(l *leaf) (string, error) {
	var list []json.RawMessage
	_ = json.Unmarshal(l.f.Value, &list)
	parts := []string{"NOT " + isNilSQL(l.v)}
	for _, r := range list {
		x := scalar(r)
		if x == nil {
			return "FALSE", nil // a null element is never in an array
		}
		parts = append(parts, g.anyElemJP(l.fld, g.equalsTest(x, l.fold), jpEquals([]any{x}, l.fold)))
	}
	return "(" + strings.Join(parts, " AND ") + ")", nil
}

// Contains: strpos on a string field, element equality on an array.
func (g *gen) contains(l *leaf) (string, error) {
	subs := nulFree(stringOrList(l.f.Value, l.fold))
	if len(subs) == 0 {
		return "FALSE", nil
	}
	ss := g.arg(subs) + "::text[]"
	a := g.newAlias()
	text := strOf(l.v)
	elem := strOf(a + ".v")
	if l.fold {
		text = "segmatch_fold(" + text + ")"
		elem = "segmatch_fold(" + elem + ")"
	}
	var ors []string
	for i := range subs {
		ors = append(ors, fmt.Sprintf("strpos(%s, (%s)[%d]) > 0", text, ss, i+1))
	}
	return fmt.Sprintf("(CASE jsonb_typeof(%s) WHEN 'string' THEN (%s) WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(%s) AS %s(v) WHERE %s = ANY(%s)) ELSE FALSE END)",
		l.v, strings.Join(ors, " OR "), l.v, a, elem, ss), nil
}

// String affix: starts_with, ends_with; test writes the test of the
// text against element i (1-based) of the text[] parameter ss.
func affix(test func(text, ss string, i int) string) builder {
	return func(g *gen, l *leaf) (string, error) {
		subs := nulFree(stringOrList(l.f.Value, l.fold))
		if len(subs) == 0 {
			return "FALSE", nil
		}
		ss := g.arg(subs) + "::text[]"
		return g.anyElem(l.fld, func(e string) string {
			text := strOf(e)
			if l.fold {
				text = "segmatch_fold(" + text + ")"
			}
			var ors []string
			for i := range subs {
				ors = append(ors, test(text, ss, i+1))
			}
			return "(" + strings.Join(ors, " OR ") + ")"
		}), nil
	}
}

func startsWith(text, ss string, i int) string {
	return fmt.Sprintf("starts_with(%s, (%s)[%d])", text, ss, i)
}

func endsWith(text, ss string, i int) string {
	return fmt.Sprintf("right(%s, char_length((%s)[%d])) = (%s)[%d]", text, ss, i, ss, i)
}

// Regex: the RE2 pattern rewritten as a PostgreSQL ARE (regex.go).
func (g *gen) regex(l *leaf) (string, error) {
	var pat string
	_ = json.Unmarshal(l.f.Value, &pat)
	are, err := translateRegex(pat, l.fold)
	if err != nil {
		return "", fmt.Errorf("%s/value: %w", l.ptr, err)
	}
	c := g.arg("***:"+are) + "::text"
	return g.anyElem(l.fld, func(e string) string { return fmt.Sprintf("%s ~ %s", strOf(e), c) }), nil
}

// Presence: is_set.
func (g *gen) isSet(l *leaf) (string, error) { return "NOT " + isNilSQL(l.v), nil }

// Emptiness: is_empty (missing, null, "", [] or {}).
func (g *gen) isEmpty(l *leaf) (string, error) {
	return fmt.Sprintf("(%s IS NULL OR %s IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb, '{}'::jsonb))", l.v, l.v), nil
}

// SemVer: semver_eq .. semver_lte on segmatch_semver_key, whose byte
// order is SemVer precedence.
func semverOrder(sym string) builder {
	return func(g *gen, l *leaf) (string, error) {
		var s string
		_ = json.Unmarshal(l.f.Value, &s)
		key, ok := SemverKey(s)
		if !ok {
			return "", fmt.Errorf("%s/value: %q is not SemVer", l.ptr, s)
		}
		c := g.arg(key) + "::text"
		return g.anyElem(l.fld, func(e string) string {
			return fmt.Sprintf("segmatch_semver_key(%s) COLLATE \"C\" %s %s COLLATE \"C\"", strOf(e), sym, c)
		}), nil
	}
}

// CIDR: in_cidr, segmatch_inet(text) <<= ANY(cidr[]).
func (g *gen) inCIDR(l *leaf) (string, error) {
	nets := stringOrList(l.f.Value, false)
	prefixes := make([]string, 0, len(nets))
	for _, n := range nets {
		if pf, ok := operators.ParseNetwork(n); ok {
			prefixes = append(prefixes, pf.String())
		}
	}
	c := g.arg(prefixes) + "::text[]::cidr[]"
	return g.anyElem(l.fld, func(e string) string {
		return fmt.Sprintf("segmatch_inet(%s) <<= ANY(%s)", strOf(e), c)
	}), nil
}

// elem_match: EXISTS over the elements, the group compiled against each.
func (g *gen) elemMatch(l *leaf) (string, error) {
	sub, err := filter.DecodeGroup(l.f.Value, l.ptr+"/value", 1)
	if err != nil {
		return "", err
	}
	a := g.newAlias()
	body, err := g.group(sub.Match, sub.Filters, a+".v", l.ptr+"/value", l.positive != sub.Negate)
	if err != nil {
		return "", err
	}
	if sub.Negate {
		body = "NOT " + body
	}
	return fmt.Sprintf("(jsonb_typeof(%s) = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(%s) AS %s(v) WHERE %s))", l.v, l.v, a, body), nil
}

// equalsTest is rule 1 equality of an element with one non-null scalar.
func (g *gen) equalsTest(x any, fold bool) func(e string) string {
	switch c := x.(type) {
	case float64:
		p := g.arg(c) + "::float8"
		return func(e string) string { return fmt.Sprintf("segmatch_num(%s) = %s", e, p) }
	case string:
		if hasNUL(c) {
			return func(string) string { return "FALSE" }
		}
		if fold {
			p := g.arg(foldString(c)) + "::text"
			return func(e string) string { return fmt.Sprintf("segmatch_fold(%s) = %s", strOf(e), p) }
		}
		p := g.arg(jsonText(c)) + "::text::jsonb"
		return func(e string) string { return fmt.Sprintf("%s = %s", e, p) }
	case bool:
		p := g.arg(jsonText(c)) + "::text::jsonb"
		return func(e string) string { return fmt.Sprintf("%s = %s", e, p) }
	}
	return func(string) string { return "FALSE" }
}

// memberTest is valueSet.has: an element equals some member (rule 1).
func (g *gen) memberTest(list []json.RawMessage, fold bool) (func(e string) string, bool) {
	var strs []string
	var nums []float64
	var jsons []string // bools (and strings when not folding) as JSON
	hasNull := false
	for _, r := range list {
		switch x := scalar(r).(type) {
		case nil:
			hasNull = true
		case bool:
			jsons = append(jsons, jsonText(x))
		case float64:
			nums = append(nums, x)
		case string:
			if hasNUL(x) {
				continue
			}
			if fold {
				strs = append(strs, foldString(x))
			} else {
				jsons = append(jsons, jsonText(x))
			}
		}
	}
	var js, ss, ns string
	if len(jsons) > 0 {
		js = g.arg(jsons) + "::text[]::jsonb[]"
	}
	if len(strs) > 0 {
		ss = g.arg(strs) + "::text[]"
	}
	if len(nums) > 0 {
		ns = g.arg(nums) + "::float8[]"
	}
	return func(e string) string {
		var ors []string
		if js != "" {
			ors = append(ors, fmt.Sprintf("%s = ANY(%s)", e, js))
		}
		if ss != "" {
			ors = append(ors, fmt.Sprintf("segmatch_fold(%s) = ANY(%s)", strOf(e), ss))
		}
		if ns != "" {
			ors = append(ors, fmt.Sprintf("segmatch_num(%s) = ANY(%s)", e, ns))
		}
		if len(ors) == 0 {
			return "FALSE"
		}
		return "(" + strings.Join(ors, " OR ") + ")"
	}, hasNull
}

func stringOrList(raw json.RawMessage, fold bool) []string {
	var one string
	var out []string
	if json.Unmarshal(raw, &one) == nil {
		out = []string{one}
	} else {
		_ = json.Unmarshal(raw, &out)
	}
	if fold {
		for i := range out {
			out[i] = foldString(out[i])
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// filterDate reads a (validated) filter date.
func filterDate(raw json.RawMessage) time.Time {
	var x any
	_ = json.Unmarshal(raw, &x)
	switch t := x.(type) {
	case string:
		d, _ := operators.ParseDate(t)
		return d
	case float64:
		d, _ := operators.EpochMillis(t)
		return d
	}
	return time.Time{}
}

// nulBound rewrites a byte-wise comparison with a constant holding U+0000
// as one with its NUL-free prefix p, exact for every NUL-free string s:
// s < c and s <= c are s <= p; s > c and s >= c are s > p.
func nulBound(c, sym string) (string, string) {
	i := strings.IndexByte(c, 0)
	if i < 0 {
		return c, sym
	}
	switch sym {
	case "<", "<=":
		return c[:i], "<="
	}
	return c[:i], ">"
}
