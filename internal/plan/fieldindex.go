package plan

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// Many segments test one field against many values ("country is IT",
// "country in [FR, DE]", "email ends with .it", "tags contains vip", ...).
// For a Set, such conditions are decided together: hashes from a value
// (or a prefix or suffix of it) to the conditions it satisfies, so a few
// lookups per field and contact decide them all, however many there are
// (the classic inverted index of many-audience matching).

// indexable is how a condition can be decided by a field's index, of the
// kind its operator declares (operators.IndexKind): the strings, numbers
// or bools it tests equality with, the number it compares with, or the
// strings it looks for. ok is false for any other condition (ignore_case,
// null, lists of lists, string order, operators not indexed), which is
// decided alone.
type indexable struct {
	ok    bool
	slot  int
	kind  operators.IndexKind // of the positive operator
	strs  []string
	nums  []float64
	bools []bool
	bound float64 // numeric order: the number
}

func indexableOf(slot int, kind operators.IndexKind, f *filter.Filter) indexable {
	x := indexable{ok: true, slot: slot, kind: kind}
	switch {
	case kind == operators.NotIndexed:
		return indexable{}
	case kind.Ordered():
		if s, ok := rawjson.ReadScalar(string(f.Value)); ok && s.Kind == rawjson.NumberScalar {
			x.bound = s.Num
			return x
		}
		if json.Unmarshal(f.Value, &x.bound) != nil {
			return indexable{} // a string bound: byte order, decided alone
		}
		return x
	}
	if f.IgnoreCase {
		return indexable{}
	}
	elems, list := rawjson.Elements(string(f.Value)) // a list: any of its elements
	if !list {
		elems = []string{string(f.Value)}
	}
	for _, e := range elems {
		s, ok := rawjson.ReadScalar(e)
		if !ok {
			return indexable{} // arrays, objects: decided alone
		}
		switch s.Kind {
		case rawjson.StringScalar:
			x.strs = append(x.strs, s.Str)
		case rawjson.NumberScalar:
			x.nums = append(x.nums, s.Num)
		case rawjson.BoolScalar:
			x.bools = append(x.bools, s.Bool)
		default: // null (is_not_set semantics): decided alone
			return indexable{}
		}
	}
	if kind.Strings() && (len(x.nums) > 0 || len(x.bools) > 0) {
		return indexable{} // the string operators take strings only
	}
	return x
}

// fieldIndex decides the indexable conditions on one field together.
type fieldIndex struct {
	leaves []int32 // every condition it decides
	// eq, in (rule 1: a numeric string equals a number)
	strs  strIndex
	nums  map[float64][]int32
	bools [2][]int32
	// numeric gt, gte, lt, lte: each kind's bounds sorted, so a number
	// satisfies a prefix (gt, gte) or a suffix (lt, lte) of them
	orders [4]orderList
	// bounds: every order condition's bound, distinct and ascending;
	// cuts[k][i]: how many of orders[k] have a bound below bounds[i] (i =
	// len(bounds): all), so that one search places a number for the four
	// kinds
	bounds []float64
	cuts   [4][]int32
	// contains: an element of an array field equal to one of subs, or a
	// string field containing one
	elems  strIndex
	substr []substrCond
	// starts_with / ends_with: the field's prefix / suffix of each length
	// some condition has, looked up
	prefixes, suffixes affixes
}

// orderList is the numeric order conditions of one kind (opGT...),
// ascending by bound.
type orderList struct {
	bounds []float64
	ids    []int32
}

const (
	opGT = iota
	opGTE
	opLT
	opLTE
)

// orderOf is the orderList of an ordered index kind.
var orderOf = map[operators.IndexKind]int{
	operators.IndexAbove: opGT, operators.IndexAtLeast: opGTE, operators.IndexBelow: opLT, operators.IndexAtMost: opLTE,
}

// add appends a condition; sort orders the list once all are in (an
// insertion each was quadratic in the conditions on one field).
func (l *orderList) add(bound float64, id int32) {
	l.bounds = append(l.bounds, bound)
	l.ids = append(l.ids, id)
}

func (l *orderList) sort() {
	idx := make([]int, len(l.bounds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(l.bounds[a], l.bounds[b]) })
	bounds, ids := make([]float64, len(idx)), make([]int32, len(idx))
	for i, j := range idx {
		bounds[i], ids[i] = l.bounds[j], l.ids[j]
	}
	l.bounds, l.ids = bounds, ids
}

// countBelow is the number of b (ascending) less than x (orEqual: at
// most x), without a branch on the data.
func countBelow(b []float64, x float64, orEqual bool) int {
	if len(b) == 0 {
		return 0
	}
	base, n := 0, len(b)
	if orEqual {
		for n > 1 {
			half := n >> 1
			base += half & -int(b2u(b[base+half] <= x)) // no branch: SETcc, not a jump
			n -= half
		}
		return base + int(b2u(b[base] <= x))
	}
	for n > 1 {
		half := n >> 1
		base += half & -int(b2u(b[base+half] < x))
		n -= half
	}
	return base + int(b2u(b[base] < x))
}

func (ix *fieldIndex) hasOrders() bool { return len(ix.bounds) > 0 }

// placeBounds lays out bounds and cuts once the orders are sorted.
func (ix *fieldIndex) placeBounds() {
	for k := range ix.orders {
		ix.bounds = append(ix.bounds, ix.orders[k].bounds...)
	}
	slices.Sort(ix.bounds)
	ix.bounds = slices.Compact(ix.bounds)
	for k := range ix.orders {
		o := &ix.orders[k]
		cut := make([]int32, len(ix.bounds)+1)
		for i, b := range ix.bounds {
			cut[i] = int32(countBelow(o.bounds, b, false))
		}
		cut[len(ix.bounds)] = int32(len(o.ids))
		ix.cuts[k] = cut
	}
}

// substrCond is one contains condition, as it applies to a string field.
type substrCond struct {
	id   int32
	subs []string
}

// buildIndexes groups the indexable conditions by field; a field with a
// single such condition keeps deciding it alone. The result is per leaf
// id (nil for conditions decided alone).
func buildIndexes(xs []indexable) []*fieldIndex {
	bySlot := map[int][]int{}
	for id, x := range xs {
		if x.ok {
			bySlot[x.slot] = append(bySlot[x.slot], id)
		}
	}
	out := make([]*fieldIndex, len(xs))
	for _, ids := range bySlot {
		if len(ids) < 2 {
			continue
		}
		ix := &fieldIndex{nums: map[float64][]int32{}}
		strs, elems := map[string][]int32{}, map[string][]int32{}
		for _, id := range ids {
			x, id32 := xs[id], int32(id)
			ix.leaves = append(ix.leaves, id32)
			out[id] = ix
			switch x.kind {
			case operators.IndexAbove, operators.IndexAtLeast, operators.IndexBelow, operators.IndexAtMost:
				ix.orders[orderOf[x.kind]].add(x.bound, id32)
			case operators.IndexContains:
				for _, s := range x.strs {
					elems[s] = appendOnce(elems[s], id32)
				}
				ix.substr = append(ix.substr, substrCond{id: id32, subs: x.strs})
			case operators.IndexPrefix:
				for _, s := range x.strs {
					ix.prefixes.add(s, id32)
				}
			case operators.IndexSuffix:
				for _, s := range x.strs {
					ix.suffixes.add(s, id32)
				}
			default: // IndexEquals
				for _, s := range x.strs {
					strs[s] = appendOnce(strs[s], id32)
				}
				for _, n := range x.nums {
					ix.nums[n] = appendOnce(ix.nums[n], id32)
				}
				for _, b := range x.bools {
					ix.bools[b2u(b)] = appendOnce(ix.bools[b2u(b)], id32)
				}
			}
		}
		for k := range ix.orders {
			ix.orders[k].sort()
		}
		ix.placeBounds()
		ix.strs, ix.elems = newStrIndex(strs), newStrIndex(elems)
		ix.prefixes.freeze(false)
		ix.suffixes.freeze(true)
	}
	return out
}

func appendOnce(ids []int32, id int32) []int32 {
	if len(ids) > 0 && ids[len(ids)-1] == id {
		return ids
	}
	return append(ids, id)
}

// decide sets the memo of every condition of the index for the field's
// value v: true for those v (or, on an array, some element) satisfies,
// false for the others. Missing, null and objects satisfy none.
func (ix *fieldIndex) decide(v *operators.Value, memo []uint8) {
	for _, id := range ix.leaves {
		memo[id] = decidedFalse
	}
	ix.mark(v, memo)
}

// mark marks true the conditions of the index that v satisfies (decide
// on a memo in which they are all false already).
func (ix *fieldIndex) mark(v *operators.Value, memo []uint8) {
	if v.Kind() == operators.Array {
		v.Any(func(e operators.Value) bool { ix.hit(&e, true, memo); return false })
		return
	}
	ix.hit(v, false, memo)
}

// hit marks the conditions a scalar satisfies; elem says it is an element
// of an array field (contains then means equality).
func (ix *fieldIndex) hit(v *operators.Value, elem bool, memo []uint8) {
	switch v.Kind() {
	case operators.String:
		s := v.Str()
		mark(ix.strs.get(s), memo)
		if len(ix.nums) > 0 || ix.hasOrders() {
			if n, ok := operators.ParseDecimal(s); ok {
				ix.number(n, memo)
			}
		}
		if elem {
			mark(ix.elems.get(s), memo)
		} else {
			for i := range ix.substr {
				if c := &ix.substr[i]; containsAny(s, c.subs) {
					memo[c.id] = decidedTrue
				}
			}
		}
		ix.prefixes.mark(s, false, memo)
		ix.suffixes.mark(s, true, memo)
	case operators.Number:
		ix.number(v.Num(), memo)
	case operators.Bool:
		mark(ix.bools[b2u(v.Bool())], memo)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// number marks the conditions a numeric field value satisfies.
func (ix *fieldIndex) number(x float64, memo []uint8) {
	mark(ix.nums[x], memo)
	if x != x {
		return // NaN is in no order
	}
	if len(ix.bounds) == 0 {
		return
	}
	// lt bounds are below x, le at most x: gt and gte hold for a prefix
	// of their conditions by bound, lt and lte for a suffix
	b, m := ix.bounds, len(ix.bounds)
	lt := countBelow(b, x, false)
	le := lt + int(b2u(lt < m)&b2u(b[min(lt, m-1)] == x))
	o, cut := &ix.orders, &ix.cuts
	mark(o[opGT].ids[:cut[opGT][lt]], memo)
	mark(o[opGTE].ids[:cut[opGTE][le]], memo)
	mark(o[opLT].ids[cut[opLT][le]:], memo)
	mark(o[opLTE].ids[cut[opLTE][lt]:], memo)
}

func mark(ids []int32, memo []uint8) {
	for _, id := range ids {
		memo[id] = decidedTrue
	}
}
