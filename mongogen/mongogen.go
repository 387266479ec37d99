// Package mongogen pushes segments down to MongoDB: it compiles a segment
// into a MongoDB filter document that selects every contact
// segmatch.Program.MatchJSON matches (a necessary condition), and, for
// most operators on top-level fields, exactly those. Where the query
// language cannot say what a segment means (numeric strings, dates
// stored as strings, SemVer, CIDR, expr, fan-out paths that Mongo walks
// differently) the filter is looser, and every document it returns must
// be rechecked with the Program that Compile returns (Query.Recheck):
// the recheck makes the answer exact. Query.Exact says when the filter
// alone is already exact; mongogen/mongorun always rechecks.
//
// Every condition is compiled to two filters: an upper one (necessary:
// every member matches it) and a lower one (sufficient: everything it
// matches is a member). A group combines them with $and / $or; a
// negation swaps them under $nor (the complement of a sufficient filter
// is necessary for the complement), so a negated looser condition is
// never pushed as if it were exact. Where nothing sound can be said the
// upper filter is "everything" and the lower "nothing".
//
// The filter is plain BSON (go.mongodb.org/mongo-driver/v2/bson, the
// bson package only: no driver, no network). Contacts are the documents
// as ContactJSON writes them: BSON dates become RFC 3339 strings,
// ObjectIds hex strings, every number a JSON number.
//
// The table of operators (Pushdown says it per operator, README has it):
//
//	eq, in, contains_any/all    exact on strings and bools; numbers add any numeric string (rule 1)
//	gt..lte                     exact on strings (byte order, as Mongo's binary order); numbers add numeric strings
//	between                     $elemMatch of both bounds on an array (FerretDB(): the plain range, looser)
//	contains, starts/ends_with  exact: escaped, anchored $regex (\A, \z), or equality for array elements
//	regex                       the RE2 tree rewritten as a Mongo regex when its meaning is the same
//	                            and PCRE cannot backtrack badly on it; else any string
//	ignore_case                 exact: every rune written as the class of its simple-folding orbit
//	is_set, is_empty, eq null   exact on top-level fields ($exists, $type, never Mongo's {f: null}, which matches [null])
//	dates                       looser: numbers and BSON dates by range, strings by the shape of a date
//	semver_*, in_cidr           looser: any string
//	elem_match                  $elemMatch of the group's upper filters (looser); FerretDB: any array
//	expr                        nothing pushed (everything is a candidate)
//
// A field path with more than one step is never exact: Mongo does not
// fan out over nested arrays ([[{"sku": "A"}]]) as segmatch does, so the
// upper filter also admits any document with a nested array on the path
// (unless FerretDB(), whose storage holds no nested arrays), and a
// decimal step ("tags.0") may also read an element's key "0". Keys that
// a Mongo path cannot name (a ".", a leading "$", U+0000) push nothing.
package mongogen

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// ErrInvalid wraps what Compile reports for a segment mongogen cannot
// read (never a valid, compiled segment).
var ErrInvalid = errors.New("mongogen: invalid segment")

// Option configures Compile.
type Option func(*config)

type config struct {
	now    time.Time
	ferret bool
}

// WithNow fixes now for relative dates (within_last, within_next); the
// default is time.Now() at the call. The recheck Program uses it too.
func WithNow(t time.Time) Option { return func(c *config) { c.now = t } }

// FerretDB makes the filter one FerretDB v1 evaluates as MongoDB would:
// it has no $elemMatch on field conditions (FerretDB issue #2964: such
// a query matches nothing) nor $or / $nor inside $elemMatch, so
// elem_match pushes only "an array"; its $elemMatch: {$gte: lo, $lte:
// hi} meets the bounds in two different elements, so between pushes the
// plain (looser) range; it knows no $type symbol, dbPointer, minKey,
// maxKey (nor holds them); and it stores no nested arrays, so the
// nested-array guards are left out.
func FerretDB() Option { return func(c *config) { c.ferret = true } }

// Query is a compiled segment.
type Query struct {
	// Filter is the MongoDB filter document: every member of the segment
	// matches it.
	Filter bson.D
	// Exact: the filter matches exactly the members, on documents of
	// JSON types (as ContactJSON reads them); the recheck then changes
	// nothing.
	Exact bool
	// Program is the compiled segment, which Recheck runs.
	Program *segmatch.Program
}

// Recheck reports whether a contact the filter returned (its JSON, as
// ContactJSON writes it) is a member.
func (q *Query) Recheck(contactJSON []byte) (bool, error) { return q.Program.MatchJSON(contactJSON) }

// Compile compiles seg (with segmatch.Compile first, so an invalid
// segment reports the same errors) into its filter and recheck program.
func Compile(seg filter.Segment, opts ...Option) (*Query, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now.IsZero() {
		cfg.now = time.Now()
	}
	now := cfg.now
	prog, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now }))
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg}
	b, err := g.group(seg.Match, seg.Filters, "", false)
	if err != nil {
		return nil, err
	}
	return &Query{Filter: b.up.doc(), Exact: b.exact, Program: prog}, nil
}

// cond is one filter clause: true, false, or a document.
type cond struct {
	k int // kTrue, kFalse, kDoc
	d bson.D
}

const (
	kDoc = iota
	kTrue
	kFalse
)

var (
	always = cond{k: kTrue}
	never  = cond{k: kFalse}
)

func doc(d bson.D) cond { return cond{d: d} }

// one is the clause {path: test}.
func one(path string, test any) cond { return doc(bson.D{{Key: path, Value: test}}) }

// nothingDoc matches no document.
var nothingDoc = bson.D{{Key: "$nor", Value: bson.A{bson.D{}}}}

func (c cond) doc() bson.D {
	switch c.k {
	case kTrue:
		return bson.D{}
	case kFalse:
		return nothingDoc
	}
	return c.d
}

func and(cs ...cond) cond {
	var parts bson.A
	for _, c := range cs {
		switch c.k {
		case kFalse:
			return never
		case kTrue:
			continue
		}
		if len(c.d) == 1 && c.d[0].Key == "$and" {
			parts = append(parts, c.d[0].Value.(bson.A)...)
			continue
		}
		parts = append(parts, c.d)
	}
	switch len(parts) {
	case 0:
		return always
	case 1:
		return doc(parts[0].(bson.D))
	}
	return one("$and", parts)
}

func or(cs ...cond) cond {
	var parts bson.A
	for _, c := range cs {
		switch c.k {
		case kTrue:
			return always
		case kFalse:
			continue
		}
		if len(c.d) == 1 && c.d[0].Key == "$or" {
			parts = append(parts, c.d[0].Value.(bson.A)...)
			continue
		}
		parts = append(parts, c.d)
	}
	switch len(parts) {
	case 0:
		return never
	case 1:
		return doc(parts[0].(bson.D))
	}
	return one("$or", parts)
}

func not(c cond) cond {
	switch c.k {
	case kTrue:
		return never
	case kFalse:
		return always
	}
	if len(c.d) == 1 {
		e := c.d[0]
		switch e.Key {
		case "$nor":
			if a := e.Value.(bson.A); len(a) == 1 {
				return doc(a[0].(bson.D))
			}
			return or(docs(e.Value.(bson.A))...)
		case "$or":
			// {$nor: [{$nor: [a]}, {$nor: [b]}]} is a and b.
			var inner []cond
			for _, x := range e.Value.(bson.A) {
				d := x.(bson.D)
				if len(d) != 1 || d[0].Key != "$nor" || len(d[0].Value.(bson.A)) != 1 {
					return one("$nor", e.Value)
				}
				inner = append(inner, doc(d[0].Value.(bson.A)[0].(bson.D)))
			}
			return and(inner...)
		case "$and":
			var ns []cond
			for _, x := range e.Value.(bson.A) {
				ns = append(ns, not(doc(x.(bson.D))))
			}
			return or(ns...)
		}
		if t, ok := e.Value.(bson.D); ok && len(t) == 1 && t[0].Key == "$exists" {
			if b, ok := t[0].Value.(bool); ok {
				return one(e.Key, bson.D{{Key: "$exists", Value: !b}})
			}
		}
	}
	return one("$nor", bson.A{c.d})
}

func docs(a bson.A) []cond {
	out := make([]cond, len(a))
	for i, x := range a {
		out[i] = doc(x.(bson.D))
	}
	return out
}

// bound is a condition's upper (necessary) and lower (sufficient)
// filters; exact when they are the same.
type bound struct {
	up, lo cond
	exact  bool
}

func exactly(c cond) bound          { return bound{up: c, lo: c, exact: true} }
func looser(up, lo cond) bound      { return bound{up: up, lo: lo} }
func unknown() bound                { return bound{up: always, lo: never} }
func (b bound) negate() bound       { return bound{up: not(b.lo), lo: not(b.up), exact: b.exact} }
func upOnly(up cond) bound          { return bound{up: up, lo: never} }
func boundOf(c cond, ex bool) bound { return bound{up: c, lo: c, exact: ex} }

type gen struct {
	cfg config
}

// group compiles filters combined by match; inElem: the fields are
// relative to an array element (elem_match).
func (g *gen) group(match filter.Match, fs []filter.Filter, ptr string, inElem bool) (bound, error) {
	if len(fs) == 0 {
		return exactly(always), nil
	}
	ups := make([]cond, 0, len(fs))
	los := make([]cond, 0, len(fs))
	exact := true
	for i := range fs {
		f := &fs[i]
		fptr := ptr + "/filters/" + fmt.Sprint(i)
		var b bound
		var err error
		if f.IsGroup() {
			b, err = g.group(f.Match, f.Filters, fptr, inElem)
		} else {
			b, err = g.cond(f, fptr, inElem)
		}
		if err != nil {
			return bound{}, err
		}
		if f.Negate {
			b = b.negate()
		}
		ups, los = append(ups, b.up), append(los, b.lo)
		exact = exact && b.exact
	}
	if match == filter.Any {
		return bound{up: or(ups...), lo: or(los...), exact: exact}, nil
	}
	return bound{up: and(ups...), lo: and(los...), exact: exact}, nil
}

// leaf is one condition as a builder sees it.
type leaf struct {
	op   string // the positive canonical operator
	f    *filter.Filter
	ptr  string
	path string // the Mongo dotted path ("" when it cannot be named)
	// single: one key step, not a length: Mongo reads exactly what
	// segmatch reads (no fan-out through arrays on the way).
	single bool
	// indexed: a decimal step: Mongo may also read an element's key.
	indexed bool
	// guard admits documents where Mongo's walk of the path differs
	// from segmatch's (a nested array on the way); never when single.
	guard cond
	fold  bool
	now   time.Time
	g     *gen
}

// builder compiles one positive operator on a nameable path.
type builder func(l *leaf) bound

// builders maps every positive operator of the registry to its builder;
// kinds says what it pushes (Pushdown). The coverage test holds them to
// the registry.
var builders map[string]builder

// Kind is how exactly an operator is pushed down.
type Kind int

const (
	// Exact: on a top-level field, the filter selects exactly the members.
	Exact Kind = iota
	// Looser: the filter is necessary; the recheck decides.
	Looser
	// None: nothing is pushed (every document is a candidate).
	None
)

func (k Kind) String() string {
	switch k {
	case Exact:
		return "exact"
	case Looser:
		return "looser"
	}
	return "none"
}

type kindNote struct {
	kind Kind
	note string
}

// kinds is the README's table, per positive operator.
var kinds = map[string]kindNote{
	"eq":           {Exact, "exact for strings, bools and null; a number also admits every numeric string (rule 1)"},
	"gt":           {Exact, "exact for strings (byte order); a number also admits every numeric string"},
	"gte":          {Exact, "as gt"},
	"lt":           {Exact, "as gt"},
	"lte":          {Exact, "as gt"},
	"between":      {Exact, "strings: $elemMatch of both bounds on an array, both outside one (Mongo's plain range may meet them in two elements); numbers also admit numeric strings; FerretDB(): looser (the plain range)"},
	"in":           {Exact, "as eq, per element ($or)"},
	"contains_any": {Exact, "as in"},
	"contains_all": {Exact, "as eq, every element ($and)"},
	"contains":     {Exact, "escaped $regex on a string, equality on array elements"},
	"starts_with":  {Exact, "escaped $regex anchored with \\A"},
	"ends_with":    {Exact, "escaped $regex anchored with \\z"},
	"regex":        {Exact, "the RE2 tree rewritten when Mongo's regex means the same and cannot backtrack badly (no \\b, no multi-line anchors, each repeat of one atom, at most 3 repeats); else any string (looser)"},
	"is_set":       {Exact, "$exists and $type, never {f: null} (which matches [null])"},
	"is_empty":     {Exact, "$exists, $size 0, and null, \"\" or {} outside arrays"},
	"before":       {Looser, "numbers and BSON dates by range; strings by the shape of a date"},
	"after":        {Looser, "as before"},
	"date_between": {Looser, "as before"},
	"within_last":  {Looser, "as before, bounds computed at now"},
	"within_next":  {Looser, "as before"},
	"semver_eq":    {Looser, "any string starting with a digit"},
	"semver_gt":    {Looser, "as semver_eq"},
	"semver_gte":   {Looser, "as semver_eq"},
	"semver_lt":    {Looser, "as semver_eq"},
	"semver_lte":   {Looser, "as semver_eq"},
	"in_cidr":      {Looser, "any string"},
	"elem_match":   {Looser, "$elemMatch of the group's necessary filters; FerretDB(): any array"},
	"expr":         {None, "expr is evaluated only in memory"},
}

func init() {
	builders = map[string]builder{
		"eq":           eqB,
		"gt":           orderB("$gt"),
		"gte":          orderB("$gte"),
		"lt":           orderB("$lt"),
		"lte":          orderB("$lte"),
		"between":      betweenB,
		"in":           inB,
		"contains_any": inB,
		"contains_all": containsAllB,
		"contains":     containsB,
		"starts_with":  affixB(true),
		"ends_with":    affixB(false),
		"regex":        regexB,
		"is_set":       isSetB,
		"is_empty":     isEmptyB,
		"before":       dateB,
		"after":        dateB,
		"date_between": dateB,
		"within_last":  dateB,
		"within_next":  dateB,
		"semver_eq":    semverB,
		"semver_gt":    semverB,
		"semver_gte":   semverB,
		"semver_lt":    semverB,
		"semver_lte":   semverB,
		"in_cidr":      stringB,
		"elem_match":   elemMatchB,
		"expr":         func(*leaf) bound { return unknown() },
	}
}

// Pushdown says how an operator (any accepted spelling; a negative one
// is its twin's case) is pushed down, and a note for the README table.
// An unknown spelling is None.
func Pushdown(operator string) (Kind, string) {
	name, _, ok := operators.Positive(operator)
	if !ok {
		return None, "unknown operator"
	}
	if k, ok := kinds[name]; ok {
		return k.kind, k.note
	}
	return None, "operator " + name + " has no Mongo translation"
}

// Table lists every positive operator with its kind and note, sorted
// by the registry's order (for the README).
func Table() []struct {
	Operator string
	Kind     Kind
	Note     string
} {
	var out []struct {
		Operator string
		Kind     Kind
		Note     string
	}
	seen := map[string]bool{}
	for _, name := range operators.Canonical() {
		pos, _, _ := operators.Positive(name)
		if seen[pos] {
			continue
		}
		seen[pos] = true
		k, note := Pushdown(pos)
		out = append(out, struct {
			Operator string
			Kind     Kind
			Note     string
		}{pos, k, note})
	}
	return out
}

// cond compiles one condition (its positive twin, negated when the
// operator is negative).
func (g *gen) cond(f *filter.Filter, ptr string, inElem bool) (bound, error) {
	op, neg, ok := operators.Positive(f.Operator)
	if !ok {
		return bound{}, fmt.Errorf("%w: %s: unknown operator %q", ErrInvalid, ptr, f.Operator)
	}
	p, err := filter.ParsePath(f.Field)
	if err != nil {
		return bound{}, fmt.Errorf("%w: %s/field: %v", ErrInvalid, ptr, err)
	}
	b := g.positive(op, f, p, ptr, inElem)
	if neg {
		b = b.negate()
	}
	return b, nil
}

// absentTrue: positive operators that may be true on a missing field.
func absentTrue(op string, f *filter.Filter) bool {
	switch op {
	case "is_empty", "expr":
		return true
	case "eq":
		return scalar(f.Value) == nil
	case "in":
		var list []any
		_ = json.Unmarshal(f.Value, &list)
		for _, x := range list {
			if x == nil {
				return true
			}
		}
	}
	return false
}

func (g *gen) positive(op string, f *filter.Filter, p filter.Path, ptr string, inElem bool) bound {
	b, ok := builders[op]
	if !ok {
		return unknown()
	}
	if op == "expr" {
		return unknown()
	}
	l := &leaf{op: op, f: f, ptr: ptr, fold: f.IgnoreCase, now: g.cfg.now, g: g, guard: never}
	// The path as Mongo names it.
	nameable := len(p) > 0
	hasLen := false
	var keys []string
	for i, st := range p {
		if st.Len {
			hasLen = true
			continue
		}
		if st.Key == "" || strings.ContainsAny(st.Key, ".\x00") || strings.HasPrefix(st.Key, "$") {
			nameable = false
		}
		if st.Index >= 0 && i > 0 {
			l.indexed = true
		}
		if st.Index >= 0 && i == 0 && inElem {
			l.indexed = true // an element may be an array
		}
		keys = append(keys, st.Key)
	}
	if !nameable || len(keys) == 0 {
		// The whole contact or element, or a key Mongo cannot name:
		// nothing is said, but a positive operator false on missing
		// needs a present key when there is one.
		return unknown()
	}
	l.path = strings.Join(keys, ".")
	// Guards: a nested array under a proper prefix (Mongo does not fan
	// out over it). In an elem_match group the element itself may be an
	// array, which Mongo's $elemMatch reads differently: a guard too.
	if !g.cfg.ferret {
		var gs []cond
		for i := 1; i < len(keys); i++ {
			gs = append(gs, one(strings.Join(keys[:i], "."), bson.D{{Key: "$elemMatch", Value: bson.D{{Key: "$type", Value: "array"}}}}))
		}
		l.guard = or(gs...)
	}
	l.single = len(keys) == 1 && !hasLen && !inElem
	if hasLen {
		// A length: the prefix must be present (an array) for a
		// positive operator that is false on missing.
		if absentTrue(op, f) {
			return unknown()
		}
		return upOnly(or(one(l.path, bson.D{{Key: "$exists", Value: true}}), l.guard))
	}
	return b(l)
}

// finish turns a builder's filters on the named path into the leaf's
// bound: on a single top-level key, as given; else the upper filter also
// admits the guarded documents, the lower one holds only without decimal
// steps (loose says the lower one is not sound off a single key).
func (l *leaf) finish(up, lo cond, exact bool) bound {
	if l.single {
		return bound{up: up, lo: lo, exact: exact}
	}
	b := bound{up: or(up, l.guard), lo: lo}
	if l.indexed {
		b.lo = never
	}
	return b
}

// scalar reads one JSON scalar of a filter value.
func scalar(raw json.RawMessage) any {
	var x any
	_ = json.Unmarshal(raw, &x)
	return x
}

// numericRE matches every string rule 1 reads as a number (and a few
// more: $ may stop before a final newline, so \z is used).
const numericRE = `\A[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\z`

// stringish are the BSON types ContactJSON writes as JSON strings besides
// strings: a string test must admit them (the recheck decides).
var stringish = bson.A{"objectId", "date", "binData", "regex", "symbol", "timestamp", "minKey", "maxKey", "dbPointer"}

// nonObject is every BSON type but the document.
var nonObject = bson.A{"double", "string", "array", "binData", "undefined", "objectId", "bool", "date", "null",
	"regex", "dbPointer", "javascript", "symbol", "int", "timestamp", "long", "decimal", "minKey", "maxKey"}

// stringishFerret: the stringish types FerretDB v1 has (it knows no
// symbol, dbPointer, minKey or maxKey: $type names of them are errors).
var stringishFerret = bson.A{"objectId", "date", "binData", "regex", "timestamp"}

func (l *leaf) stringishGuard() cond {
	if l.g.cfg.ferret {
		return one(l.path, bson.D{{Key: "$type", Value: stringishFerret}})
	}
	return one(l.path, bson.D{{Key: "$type", Value: stringish}})
}

func regexCond(path, pattern string) cond {
	return one(path, bson.D{{Key: "$regex", Value: pattern}})
}

// equals is rule 1 equality with one non-null scalar: (upper, lower).
func (l *leaf) equals(x any) (up, lo cond, exact bool) {
	switch c := x.(type) {
	case float64:
		eq := one(l.path, c)
		return or(eq, regexCond(l.path, numericRE)), eq, false
	case string:
		var e cond
		if l.fold {
			e = regexCond(l.path, `\A`+foldLiteral(c)+`\z`)
		} else {
			e = one(l.path, c)
		}
		return or(e, l.stringishGuard()), e, true
	case bool:
		e := one(l.path, c)
		return e, e, true
	}
	return never, never, true
}

func eqB(l *leaf) bound {
	x := scalar(l.f.Value)
	if x == nil {
		return isSetB(l).negate()
	}
	up, lo, ex := l.equals(x)
	return l.finish(up, lo, ex)
}

func orderB(sym string) builder {
	return func(l *leaf) bound {
		switch x := scalar(l.f.Value).(type) {
		case float64:
			c := one(l.path, bson.D{{Key: sym, Value: x}})
			return l.finish(or(c, regexCond(l.path, numericRE)), c, false)
		case string:
			c := one(l.path, bson.D{{Key: sym, Value: x}})
			return l.finish(or(c, l.stringishGuard()), c, true)
		}
		return unknown()
	}
}

// betweenB: lo <= some element <= hi. {f: {$gte: lo, $lte: hi}} may
// meet the bounds in different elements of an array: on a top-level key
// the exact form is $elemMatch of both for an array, both outside one.
func betweenB(l *leaf) bound {
	var b [2]any
	_ = json.Unmarshal(l.f.Value, &b)
	rng := bson.D{{Key: "$gte", Value: b[0]}, {Key: "$lte", Value: b[1]}}
	both := one(l.path, rng)
	var extra cond
	switch b[0].(type) {
	case float64:
		extra = regexCond(l.path, numericRE)
	case string:
		extra = l.stringishGuard()
	default:
		return unknown()
	}
	if !l.single {
		return l.finish(or(both, extra), never, false)
	}
	notArray := one(l.path, bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}})
	if l.g.cfg.ferret {
		// FerretDB's $elemMatch: {$gte: lo, $lte: hi} also meets the
		// bounds in two elements: the plain range, looser.
		return bound{up: or(both, extra), lo: and(notArray, both)}
	}
	e := or(one(l.path, bson.D{{Key: "$elemMatch", Value: rng}}), and(notArray, both))
	_, str := b[0].(string)
	return bound{up: or(e, extra), lo: e, exact: str}
}

// inB: in and contains_any: some element equals a member; a null in an
// in list also admits a missing or null field.
func inB(l *leaf) bound {
	var list []any
	_ = json.Unmarshal(l.f.Value, &list)
	var ups, los []cond
	exact := true
	hasNull := false
	for _, x := range list {
		if x == nil {
			hasNull = true
			continue
		}
		u, lo, ex := l.equals(x)
		ups, los = append(ups, u), append(los, lo)
		exact = exact && ex
	}
	b := l.finish(or(ups...), or(los...), exact)
	if l.op == "in" && hasNull {
		n := isSetB(l).negate()
		b = bound{up: or(b.up, n.up), lo: or(b.lo, n.lo), exact: b.exact && n.exact}
	}
	return b
}

// containsAllB: present, and every element of the value is in the field.
func containsAllB(l *leaf) bound {
	var list []any
	_ = json.Unmarshal(l.f.Value, &list)
	parts := []bound{isSetB(l)}
	for _, x := range list {
		if x == nil {
			return exactly(never)
		}
		u, lo, ex := l.equals(x)
		parts = append(parts, l.finish(u, lo, ex))
	}
	out := bound{up: always, lo: always, exact: true}
	for _, p := range parts {
		out = bound{up: and(out.up, p.up), lo: and(out.lo, p.lo), exact: out.exact && p.exact}
	}
	return out
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var out []string
	_ = json.Unmarshal(raw, &out)
	return out
}

// literal writes s as a regex matching s itself (or its case-folded
// forms).
func (l *leaf) literal(s string) string {
	if l.fold {
		return foldLiteral(s)
	}
	return quoteLiteral(s)
}

// containsB: a string field containing the substring, or an array field
// holding an element equal to it.
func containsB(l *leaf) bound {
	subs := stringOrList(l.f.Value)
	var ups, los []cond
	notArray := one(l.path, bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}})
	for _, s := range subs {
		var eq cond
		if l.fold {
			eq = regexCond(l.path, `\A`+foldLiteral(s)+`\z`)
		} else {
			eq = one(l.path, s)
		}
		sub := regexCond(l.path, l.literal(s))
		if l.single {
			// exact: {f: s} is a string equal to s or an array holding
			// it; the regex outside arrays is a string containing s.
			e := or(eq, and(notArray, sub))
			ups, los = append(ups, or(e, l.stringishGuard())), append(los, e)
		} else {
			// through arrays the field may be the values reached (an
			// array: elements compare equal) or one string: the regex is
			// necessary, equality sufficient.
			ups, los = append(ups, or(sub, l.stringishGuard())), append(los, eq)
		}
	}
	return l.finish(or(ups...), or(los...), l.single)
}

func affixB(prefix bool) builder {
	return func(l *leaf) bound {
		var ups, los []cond
		for _, s := range stringOrList(l.f.Value) {
			pat := l.literal(s)
			if prefix {
				pat = `\A` + pat
			} else {
				pat += `\z`
			}
			c := regexCond(l.path, pat)
			ups, los = append(ups, or(c, l.stringishGuard())), append(los, c)
		}
		return l.finish(or(ups...), or(los...), true)
	}
}

func regexB(l *leaf) bound {
	var pat string
	_ = json.Unmarshal(l.f.Value, &pat)
	if re, ok := translateRegex(pat, l.fold); ok {
		c := regexCond(l.path, re)
		return l.finish(or(c, l.stringishGuard()), c, true)
	}
	return stringB(l)
}

// stringB: the field holds some string (semver, CIDR, untranslated
// regexes).
func stringB(l *leaf) bound {
	return l.finish(or(one(l.path, bson.D{{Key: "$type", Value: "string"}}), l.stringishGuard()), never, false)
}

func semverB(l *leaf) bound {
	return l.finish(or(regexCond(l.path, `\A[0-9]`), l.stringishGuard()), never, false)
}

// isSetB: present and not null. On a top-level key: $exists, and null
// only outside an array ({f: {$type: "null"}} also matches [null]).
func isSetB(l *leaf) bound {
	exists := one(l.path, bson.D{{Key: "$exists", Value: true}})
	if l.single {
		isNull := and(one(l.path, bson.D{{Key: "$type", Value: "null"}}),
			one(l.path, bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}))
		return exactly(and(exists, not(isNull)))
	}
	lo := one(l.path, bson.D{{Key: "$exists", Value: true}, {Key: "$ne", Value: nil}})
	return l.finish(exists, lo, false)
}

// isEmptyB: missing, null, "", [] or {}.
func isEmptyB(l *leaf) bound {
	if !l.single {
		return unknown()
	}
	missing := one(l.path, bson.D{{Key: "$exists", Value: false}})
	emptyArr := one(l.path, bson.D{{Key: "$size", Value: 0}})
	notArray := one(l.path, bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}})
	scalarEmpty := and(notArray, one(l.path, bson.D{{Key: "$in", Value: bson.A{nil, "", bson.D{}}}}))
	return exactly(or(missing, emptyArr, scalarEmpty))
}

// dateB: the field's date in [lo, hi] (strict bounds become inclusive,
// widened by a millisecond): numbers of epoch milliseconds and BSON
// dates by range, strings by the shape of a date.
func dateB(l *leaf) bound {
	lo, hi := dateRange(l)
	var parts []cond
	parts = append(parts, regexCond(l.path, `\A[0-9]{4}-[0-9]{2}-[0-9]{2}`))
	rng := bson.D{}
	dr := bson.D{}
	if !lo.IsZero() {
		ms := math.Floor(float64(lo.UnixNano())/1e6) - 1
		rng = append(rng, bson.E{Key: "$gte", Value: ms})
		dr = append(dr, bson.E{Key: "$gte", Value: bson.NewDateTimeFromTime(lo.Add(-time.Millisecond))})
	}
	if !hi.IsZero() {
		ms := math.Ceil(float64(hi.UnixNano())/1e6) + 1
		rng = append(rng, bson.E{Key: "$lte", Value: ms})
		dr = append(dr, bson.E{Key: "$lte", Value: bson.NewDateTimeFromTime(hi.Add(time.Millisecond))})
	}
	if len(rng) == 0 {
		rng = bson.D{{Key: "$type", Value: "number"}}
		dr = bson.D{{Key: "$type", Value: "date"}}
	}
	parts = append(parts, one(l.path, rng), one(l.path, dr))
	return l.finish(or(parts...), never, false)
}

// dateRange is the operator's [lo, hi] (a zero time: unbounded).
func dateRange(l *leaf) (lo, hi time.Time) {
	switch l.op {
	case "before":
		return time.Time{}, filterDate(l.f.Value)
	case "after":
		return filterDate(l.f.Value), time.Time{}
	case "date_between":
		var raws []json.RawMessage
		_ = json.Unmarshal(l.f.Value, &raws)
		if len(raws) == 2 {
			return filterDate(raws[0]), filterDate(raws[1])
		}
	case "within_last", "within_next":
		var ds string
		_ = json.Unmarshal(l.f.Value, &ds)
		d, _ := operators.ParseDuration(ds)
		if l.op == "within_last" {
			return d.Back(l.now), l.now
		}
		return l.now, d.Forward(l.now)
	}
	return time.Time{}, time.Time{}
}

// filterDate reads a (validated) filter date.
func filterDate(raw json.RawMessage) time.Time {
	switch t := scalar(raw).(type) {
	case string:
		d, _ := operators.ParseDate(t)
		return d
	case float64:
		d, _ := operators.EpochMillis(t)
		return d
	}
	return time.Time{}
}

// elemMatchB: some element satisfies the group. On a top-level key the
// field is an array: $elemMatch of the group's upper filters, or, where
// Mongo would read an element differently (an element that is itself an
// array) or the group says nothing, any non-empty array.
func elemMatchB(l *leaf) bound {
	exists := one(l.path, bson.D{{Key: "$exists", Value: true}})
	if !l.single {
		// a fan-out's virtual array may hold scalars Mongo's $elemMatch
		// never sees: only presence.
		return l.finish(exists, never, false)
	}
	nonEmpty := one(l.path+".0", bson.D{{Key: "$exists", Value: true}})
	if l.g.cfg.ferret {
		return upOnly(one(l.path, bson.D{{Key: "$type", Value: "array"}}))
	}
	sub, err := filter.DecodeGroup(l.f.Value, l.ptr+"/value", 1)
	if err != nil {
		return upOnly(nonEmpty)
	}
	b, err := l.g.group(sub.Match, sub.Filters, l.ptr+"/value", true)
	if err != nil {
		return upOnly(nonEmpty)
	}
	if sub.Negate {
		b = b.negate()
	}
	if b.up.k != kDoc {
		return upOnly(nonEmpty)
	}
	// An element that is not an object (a scalar, or an array Mongo
	// would not fan out over) may satisfy the group where $elemMatch's
	// field tests see nothing: such documents are candidates.
	nested := one(l.path, bson.D{{Key: "$elemMatch", Value: bson.D{{Key: "$type", Value: nonObject}}}})
	return upOnly(or(one(l.path, bson.D{{Key: "$elemMatch", Value: b.up.d}}), nested))
}
