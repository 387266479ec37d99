package audience

import (
	"encoding/json"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// span is what a node of a segment is known to hold for, among
// candidates: every contact of lo, no contact outside hi. lo == hi (the
// same bitmap) is an exact answer. Spans never hold a bitmap of the index
// that a write changes, except the candidates themselves (ix.live at the
// top), and no bitmap of a span is changed once made.
type span struct{ lo, hi *roaring.Bitmap }

func exact(b *roaring.Bitmap) span { return span{b, b} }

func (s span) exact() bool { return s.lo == s.hi }

// policy is when a condition is decided through the field index and when
// on each candidate. Tests change it to force either way.
type policy struct {
	// buildShare: a path not indexed yet is indexed when the candidates
	// are at least 1/buildShare of the live contacts (0: never), or the
	// index is smaller than buildBelow contacts; fewer candidates are
	// decided one by one, and the path stays unindexed.
	buildShare, buildBelow uint64
	// values chooses between a test on every distinct value of a path
	// (ends_with, regex, dates, ...) and one on each candidate's value.
	values valuesChoice
	// noIndex: every condition is decided on each candidate (tests).
	noIndex bool
}

type valuesChoice uint8

const (
	byCost       valuesChoice = iota // the cheaper, as perCandidate estimates
	alwaysValues                     // tests
	alwaysEach                       // tests
)

// perCandidate reports whether testing each candidate's value is cheaper
// than testing each of a path's distinct values, for a test whose cost is
// argCost (operators.Arg.Cost, ns per byte read).
func perCandidate(cand, distinct uint64, argCost int) bool {
	const (
		read   = 4000 // ns: reading one contact's value (a ~1 KB contact, not in the cache)
		visit  = 50   // ns: visiting one value of the index
		length = 24   // bytes: a value
	)
	test := uint64(visit + max(argCost-operators.CostScan, 0)*length)
	return cand*(read+test) < distinct*test
}

// eachCheaper reports whether testing each candidate's value is cheaper
// than ORing the postings a range or a prefix gathered in u (the walk of
// the keys is done by then, and cheap: ORing their bitmaps is not, a few
// cache misses each, some 250 ns on 1,000,000 contacts). Only unions
// estimated over eachFrom ns are weighed, so that small indexes look
// their ranges up.
func (q *querier) eachCheaper(cand *roaring.Bitmap, u *union) bool {
	if q.pol.values == alwaysValues {
		return false
	}
	const (
		read   = 4000 // ns: reading one contact's value, as perCandidate
		bitmap = 250  // ns: ORing one posting's bitmap
		one    = 10   // ns: ORing one posting's single contact
	)
	parts := u
	if u.of != nil {
		parts = u.less
	}
	cost := uint64(len(parts.bms))*bitmap + uint64(len(parts.ones))*one
	if u.of != nil && len(u.bms)+len(u.ones) > 0 {
		cost += uint64(len(u.bms))*bitmap + uint64(len(u.ones))*one
	}
	return cost >= eachFrom && cand.GetCardinality()*read < cost
}

// eachFrom: the least estimated cost (ns) of a range's union for which
// eachCheaper weighs testing each candidate instead (tests lower it).
var eachFrom uint64 = 1_000_000

var defaultPolicy = policy{buildShare: 16, buildBelow: 1024}

// indexPolicy is the policy queries follow.
var indexPolicy = defaultPolicy

// querier is one query's state.
type querier struct {
	ix    *Index
	f     *fieldIndex
	live  *roaring.Bitmap
	nLive uint64
	pol   policy
	// universe bounds the contacts' numbers.
	universe uint32
	seg      *filter.Segment
}

func newQuerier(ix *Index, f *fieldIndex, seg *filter.Segment) *querier {
	return &querier{ix: ix, f: f, seg: seg, live: ix.live, nLive: ix.live.GetCardinality(), universe: uint32(len(ix.ids)), pol: indexPolicy}
}

// eval is a filter's span among cand.
func (q *querier) eval(f *filter.Filter, cand *roaring.Bitmap) span {
	if f.IsGroup() {
		return q.group(f.Match, f.Filters, f.Negate, cand)
	}
	return q.leaf(f, cand)
}

// group is a group's span among cand. An empty group holds for everyone.
func (q *querier) group(match filter.Match, kids []filter.Filter, negate bool, cand *roaring.Bitmap) span {
	var s span
	switch {
	case len(kids) == 0:
		s = exact(cand)
	case match == filter.Any:
		s = q.any(kids, cand)
	default:
		s = q.all(kids, cand)
	}
	if !negate {
		return s
	}
	if s.exact() {
		return exact(roaring.AndNot(cand, s.lo))
	}
	return span{roaring.AndNot(cand, s.hi), roaring.AndNot(cand, s.lo)}
}

// all: each filter is decided among the candidates the ones before left,
// the cheap ones first.
func (q *querier) all(kids []filter.Filter, cand *roaring.Bitmap) span {
	c := cand
	var los []*roaring.Bitmap
	allExact := true
	for _, i := range q.order(kids) {
		if c.IsEmpty() {
			return exact(c)
		}
		s := q.eval(&kids[i], c)
		if !s.exact() {
			allExact = false
		}
		los = append(los, s.lo)
		c = s.hi
	}
	if allExact { // each answer is within the one before
		return exact(c)
	}
	return span{roaring.FastAnd(los...), c}
}

// any: a filter is decided among the candidates not known to hold
// already, when that saves work (before a filter that is not cheap).
func (q *querier) any(kids []filter.Filter, cand *roaring.Bitmap) span {
	c := cand
	var los, his []*roaring.Bitmap
	allExact := true
	for _, i := range q.order(kids) {
		if len(los) > 0 && q.class(&kids[i]) > classIndexed {
			c = roaring.AndNot(cand, roaring.FastOr(los...))
			if c.IsEmpty() { // every candidate holds
				return exact(roaring.FastOr(los...))
			}
		}
		s := q.eval(&kids[i], c)
		if !s.exact() {
			allExact = false
		}
		los, his = append(los, s.lo), append(his, s.hi)
	}
	lo := roaring.FastOr(los...)
	if allExact {
		return exact(lo)
	}
	return span{lo, roaring.FastOr(his...)}
}

// How costly a filter is to decide, the order a group decides them in.
const (
	classIndexed = iota // a lookup or a range in the field index
	classScalar         // a test on every distinct value, or on each candidate
	classGroup          // a nested group
	classEach           // a test on each candidate (elem_match, expr)
	classUnsure         // bounds only: the program decides (relative dates)
)

func (q *querier) order(kids []filter.Filter) []int {
	idx := make([]int, len(kids))
	cls := make([]int, len(kids))
	for i := range kids {
		idx[i], cls[i] = i, q.class(&kids[i])
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cls[a] - cls[b] })
	return idx
}

func (q *querier) class(f *filter.Filter) int {
	if f.IsGroup() {
		return classGroup
	}
	pos, _, ok := positive(f)
	switch {
	case !ok:
		return classUnsure
	case pos.ReadsNow:
		return classUnsure
	case direct[pos.Name]:
		return classIndexed
	case pos.PrepareScalar != nil:
		return classScalar
	}
	return classEach
}

// direct are the operators the field index decides by lookups and
// ranges, whatever the number of values.
var direct = map[string]bool{
	"eq": true, "in": true, "gt": true, "gte": true, "lt": true, "lte": true, "between": true,
	"is_set": true, "is_empty": true, "contains_any": true, "contains_all": true,
	"contains": true, "starts_with": true,
}

// positive is a condition's operator as its positive twin, and whether
// the condition is that twin's complement (docs/semantics.md rule 3; its own
// negate included).
func positive(f *filter.Filter) (pos *operators.Operator, neg bool, ok bool) {
	op, ok := operators.Lookup(f.Operator)
	if !ok {
		return nil, false, false
	}
	pos = op
	if op.Negates != nil {
		pos = op.Negates
	}
	return pos, f.Negate != (op.Negates != nil), true
}

// leaf is a condition's span among cand.
func (q *querier) leaf(f *filter.Filter, cand *roaring.Bitmap) span {
	pos, neg, ok := positive(f)
	path, err := filter.ParsePath(f.Field)
	if !ok || err != nil { // not expected: the segment compiled
		return span{roaring.New(), cand}
	}
	if pos.ReadsNow {
		q.trace(pos, routeUnsure)
		return q.unsure(path, neg, cand)
	}
	var b *roaring.Bitmap // the positive answer, at least among cand
	if pos.Name != "elem_match" && pos.Name != "expr" && !q.pol.noIndex {
		pi := q.f.built(path)
		if pi == nil && q.worthBuilding(cand) {
			pi = q.f.path(q.ix, path, q.unindexed())
		}
		if pi != nil {
			b = q.indexed(pi, pos, f, cand)
		}
	}
	if b == nil {
		if b, ok = q.each(pos, f, path, cand); !ok {
			q.trace(pos, routeUnsure)
			return q.unsure(path, neg, cand)
		}
	}
	if neg {
		return exact(roaring.AndNot(cand, b))
	}
	return exact(roaring.And(cand, b))
}

// The ways a condition is decided (traceRoute, for tests).
const (
	routeLookup = "lookup" // lookups and ranges in the index
	routeValues = "values" // the test on each distinct value
	routeEach   = "each"   // the test on each candidate's value
	routeAlone  = "alone"  // the condition compiled alone, on each candidate
	routeUnsure = "unsure" // bounds; the program decides
)

// traceRoute, when set, is told how each condition is decided.
var traceRoute func(op, route string)

func traceComplement() {
	if traceRoute != nil {
		traceRoute("range", "complement")
	}
}

func (q *querier) trace(op *operators.Operator, route string) {
	if traceRoute != nil {
		traceRoute(op.Name, route)
	}
}

// unindexed are the paths of the segment's conditions the index may
// decide that are not indexed yet: indexed together with the first one a
// condition needs, in one pass.
func (q *querier) unindexed() []filter.Path {
	var out []filter.Path
	var walk func(fs []filter.Filter)
	walk = func(fs []filter.Filter) {
		for i := range fs {
			f := &fs[i]
			if f.IsGroup() {
				walk(f.Filters)
				continue
			}
			if c := q.class(f); c != classIndexed && c != classScalar {
				continue
			}
			if p, err := filter.ParsePath(f.Field); err == nil && q.f.built(p) == nil {
				out = append(out, p)
			}
		}
	}
	walk(q.seg.Filters)
	return out
}

func (q *querier) worthBuilding(cand *roaring.Bitmap) bool {
	if q.nLive == 0 { // nothing to index yet: a path is indexed when there is
		return false
	}
	return q.nLive < q.pol.buildBelow || cand.GetCardinality()*q.pol.buildShare >= q.nLive
}

// unsure bounds a condition the index cannot decide: a positive operator
// is false on a missing or null field (docs/semantics.md rule 4), which an
// indexed path tells.
func (q *querier) unsure(path filter.Path, neg bool, cand *roaring.Bitmap) span {
	lo, hi := roaring.New(), cand
	if pi := q.f.built(path); pi != nil {
		hi = roaring.And(cand, pi.set)
	}
	if neg {
		return span{roaring.AndNot(cand, hi), roaring.AndNot(cand, lo)}
	}
	return span{lo, hi}
}

// arg is what an operator prepares a condition's test from.
func arg(f *filter.Filter) *operators.Arg {
	return &operators.Arg{Value: f.Value, IgnoreCase: f.IgnoreCase}
}

// each decides the positive condition on each candidate: its test on the
// contact's value (a Scalar's general form, or the operator's Test), or,
// for elem_match and expr, the condition alone compiled. ok is false for
// a condition that reads the clock (an elem_match over relative dates).
func (q *querier) each(pos *operators.Operator, f *filter.Filter, path filter.Path, cand *roaring.Bitmap) (*roaring.Bitmap, bool) {
	var test func(v *operators.Value) bool
	switch {
	case pos.PrepareScalar != nil:
		sc, err := pos.PrepareScalar(arg(f))
		if err != nil {
			return nil, false
		}
		test = sc.TestValue
	case pos.Name == "elem_match" || pos.Name == "expr":
		one := filter.Filter{Field: f.Field, Operator: pos.Name, Value: f.Value, IgnoreCase: f.IgnoreCase}
		prog, err := segmatch.Compile(filter.Segment{Filters: []filter.Filter{one}})
		if err != nil || prog.ReadsNow() {
			return nil, false
		}
		q.trace(pos, routeAlone)
		return scan(q.ix, cand, prog), true
	default:
		t, err := pos.Prepare(arg(f))
		if err != nil {
			return nil, false
		}
		test = func(v *operators.Value) bool { return t(*v, operators.Context{}) }
	}
	q.trace(pos, routeEach)
	var hits []uint32
	it := cand.Iterator()
	for it.HasNext() {
		n := it.Next()
		v := operators.GetRaw(rawString(q.ix.raws[n]), path)
		if test(&v) {
			hits = append(hits, n)
		}
	}
	return roaring.BitmapOf(hits...), true
}

// indexed is the positive condition's answer through the path's index,
// over every live contact (read-only: it may be the index's own bitmap),
// or nil when the index does not decide it or deciding it on each
// candidate is cheaper.
func (q *querier) indexed(pi *pathIndex, pos *operators.Operator, f *filter.Filter, cand *roaring.Bitmap) (b *roaring.Bitmap) {
	route := routeLookup
	defer func() {
		if b != nil {
			q.trace(pos, route)
		}
	}()
	var u union
	fold := f.IgnoreCase
	switch pos.Name {
	case "eq":
		x, ok := scalarOf(f.Value)
		if !ok {
			return nil
		}
		if x == nil {
			return pi.isNotSet(q.live)
		}
		pi.eqScalar(&u, x, fold)
		return u.result(q.universe)
	case "in", "contains_any", "contains_all":
		var raws []json.RawMessage
		if json.Unmarshal(f.Value, &raws) != nil {
			return nil
		}
		var all []*roaring.Bitmap
		for _, r := range raws {
			x, ok := scalarOf(r)
			if !ok {
				return nil
			}
			switch {
			case x == nil && pos.Name == "in":
				u.bitmap(pi.isNotSet(q.live))
			case x == nil && pos.Name == "contains_all":
				return roaring.New() // null is no element
			case x == nil:
			case pos.Name == "contains_all":
				var one union
				pi.eqScalar(&one, x, fold)
				all = append(all, one.result(q.universe))
			default:
				pi.eqScalar(&u, x, fold)
			}
		}
		if pos.Name == "contains_all" {
			slices.SortFunc(all, func(a, b *roaring.Bitmap) int { return int(a.GetCardinality()) - int(b.GetCardinality()) })
			return roaring.FastAnd(append(all, pi.set)...)
		}
		return u.result(q.universe)
	case "gt", "gte", "lt", "lte":
		x, ok := scalarOf(f.Value)
		if !ok {
			return nil
		}
		switch c := x.(type) {
		case float64:
			b := bound[float64]{set: true, k: c, inclusive: pos.Name == "gte" || pos.Name == "lte"}
			if pos.Name[0] == 'g' {
				pi.numRange(&u, b, bound[float64]{})
			} else {
				pi.numRange(&u, bound[float64]{}, b)
			}
		case string:
			b := bound[string]{set: true, k: c, inclusive: pos.Name == "gte" || pos.Name == "lte"}
			if pos.Name[0] == 'g' {
				pi.strRange(&u, b, bound[string]{})
			} else {
				pi.strRange(&u, bound[string]{}, b)
			}
		default:
			return nil
		}
		if q.eachCheaper(cand, &u) {
			return nil
		}
		return u.result(q.universe)
	case "between":
		var lh [2]any
		if json.Unmarshal(f.Value, &lh) != nil {
			return nil
		}
		switch lo := lh[0].(type) {
		case float64:
			hi, ok := lh[1].(float64)
			if !ok {
				return nil
			}
			pi.numRange(&u, bound[float64]{true, lo, true}, bound[float64]{true, hi, true})
		case string:
			hi, ok := lh[1].(string)
			if !ok {
				return nil
			}
			pi.strRange(&u, bound[string]{true, lo, true}, bound[string]{true, hi, true})
		default:
			return nil
		}
		if q.eachCheaper(cand, &u) {
			return nil
		}
		return u.result(q.universe)
	case "is_set":
		return pi.set
	case "is_empty":
		return pi.isEmpty(q.live)
	case "starts_with":
		if fold {
			break
		}
		prefixes, ok := stringsOf(f.Value)
		if !ok {
			return nil
		}
		for _, p := range prefixes {
			pi.prefix(&u, p)
		}
		if q.eachCheaper(cand, &u) {
			return nil
		}
		return u.result(q.universe)
	case "contains":
		if !pi.str.IsEmpty() {
			break // substrings of string values: a test per value
		}
		subs, ok := stringsOf(f.Value) // elements equal to one
		if !ok {
			return nil
		}
		for _, s := range subs {
			if fold {
				s = operators.FoldString(s)
			}
			pi.eqString(&u, s, fold)
		}
		return u.result(q.universe)
	}
	if pos.PrepareScalar == nil {
		return nil
	}
	a := arg(f)
	sc, err := pos.PrepareScalar(a)
	if err != nil {
		return nil
	}
	switch q.pol.values {
	case alwaysEach:
		return nil
	case byCost:
		if perCandidate(cand.GetCardinality(), uint64(pi.distinct()), a.Cost) {
			return nil
		}
	}
	route = routeValues
	pi.scalar(&u, sc)
	if sc.Nil {
		u.bitmap(pi.isNotSet(q.live))
	}
	return u.result(q.universe)
}

// eqScalar adds the contacts holding x (rule 1), x a string, number or
// bool of a filter value; a string is folded first when fold is set.
func (p *pathIndex) eqScalar(u *union, x any, fold bool) {
	switch c := x.(type) {
	case string:
		if fold {
			c = operators.FoldString(c)
		}
		p.eqString(u, c, fold)
	case float64:
		p.eqNumber(u, c)
	case bool:
		p.eqBool(u, c)
	}
}

// scalarOf decodes one scalar of a filter value as the operators do
// (encoding/json): nil, bool, float64 or string.
func scalarOf(raw json.RawMessage) (any, bool) {
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return nil, false
	}
	switch x.(type) {
	case nil, bool, float64, string:
		return x, true
	}
	return nil, false
}

// stringsOf decodes a string or an array of strings.
func stringsOf(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	return list, true
}
