package segmatch

import (
	"encoding/json"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// Many segments test one field against many values ("country
// is IT", "country in [FR, DE]", ...). For a Set, such conditions are
// decided together: a hash from value to the conditions it satisfies, so
// one lookup per field and contact decides them all, however many there
// are (the classic inverted index of many-audience matching).

// equality is what a condition tests equality with, when it is an eq or
// an in of plain (case-sensitive, non-null) scalars, or the number it
// compares with, when it is a numeric gt/gte/lt/lte; ok is false for any
// other condition.
type equality struct {
	ok    bool
	slot  int
	strs  []string
	nums  []float64
	bools []bool
	order string  // "gt", "gte", "lt", "lte": a numeric order condition
	bound float64 // its number
}

func equalityOf(slot int, op string, f *filter.Filter) equality {
	switch op {
	case "gt", "gte", "lt", "lte":
		var n float64
		if json.Unmarshal(f.Value, &n) != nil {
			return equality{} // a string bound: byte order, decided alone
		}
		return equality{ok: true, slot: slot, order: op, bound: n}
	}
	if f.IgnoreCase || (op != "eq" && op != "in") {
		return equality{}
	}
	var vals []any
	if op == "eq" {
		var v any
		if json.Unmarshal(f.Value, &v) != nil {
			return equality{}
		}
		vals = []any{v}
	} else if json.Unmarshal(f.Value, &vals) != nil {
		return equality{}
	}
	e := equality{ok: true, slot: slot}
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			e.strs = append(e.strs, t)
		case float64:
			e.nums = append(e.nums, t)
		case bool:
			e.bools = append(e.bools, t)
		default: // null (is_not_set semantics), arrays: decided one by one
			return equality{}
		}
	}
	return e
}

// eqIndex decides the equality and numeric order conditions on one field
// together.
type eqIndex struct {
	slot   int
	leaves []int32 // every condition it decides
	strs   map[string][]int32
	nums   map[float64][]int32
	bools  [2][]int32
	orders []orderCond
}

// orderCond is one numeric order condition: field <op> bound.
type orderCond struct {
	id    int32
	op    string
	bound float64
}

func (o *orderCond) holds(x float64) bool {
	switch o.op {
	case "gt":
		return x > o.bound
	case "gte":
		return x >= o.bound
	case "lt":
		return x < o.bound
	}
	return x <= o.bound
}

// buildEqIndexes groups the equality conditions by field; a field with a
// single such condition keeps deciding it alone. The result is per leaf
// id (nil for conditions decided alone).
func buildEqIndexes(eqs []equality) []*eqIndex {
	bySlot := map[int][]int{}
	for id, e := range eqs {
		if e.ok {
			bySlot[e.slot] = append(bySlot[e.slot], id)
		}
	}
	out := make([]*eqIndex, len(eqs))
	for slot, ids := range bySlot {
		if len(ids) < 2 {
			continue
		}
		ix := &eqIndex{slot: slot, strs: map[string][]int32{}, nums: map[float64][]int32{}}
		for _, id := range ids {
			e := eqs[id]
			ix.leaves = append(ix.leaves, int32(id))
			if e.order != "" {
				ix.orders = append(ix.orders, orderCond{id: int32(id), op: e.order, bound: e.bound})
				out[id] = ix
				continue
			}
			for _, s := range e.strs {
				ix.strs[s] = appendOnce(ix.strs[s], int32(id))
			}
			for _, n := range e.nums {
				ix.nums[n] = appendOnce(ix.nums[n], int32(id))
			}
			for _, b := range e.bools {
				ix.bools[b2i(b)] = appendOnce(ix.bools[b2i(b)], int32(id))
			}
			out[id] = ix
		}
	}
	return out
}

func appendOnce(ids []int32, id int32) []int32 {
	if len(ids) > 0 && ids[len(ids)-1] == id {
		return ids
	}
	return append(ids, id)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decide sets the memo of every condition of the index for the field's
// value v: true for those v (or, on an array, some element) equals,
// false for the others (rule 1: a numeric string equals a number).
func (ix *eqIndex) decide(v *operators.Value, memo []uint8) {
	for _, id := range ix.leaves {
		memo[id] = 1
	}
	switch v.Kind() {
	case operators.Array:
		v.Any(func(e operators.Value) bool { ix.hit(&e, memo); return false })
	default:
		ix.hit(v, memo)
	}
}

func (ix *eqIndex) hit(v *operators.Value, memo []uint8) {
	var ids []int32
	switch v.Kind() {
	case operators.String:
		ids = ix.strs[v.Str()]
		if len(ix.nums) > 0 || len(ix.orders) > 0 {
			if n, ok := operators.ParseDecimal(v.Str()); ok {
				ix.number(n, memo)
			}
		}
	case operators.Number:
		ix.number(v.Num(), memo)
	case operators.Bool:
		ids = ix.bools[b2i(v.Bool())]
	}
	mark(ids, memo)
}

// number marks the conditions a numeric field value satisfies.
func (ix *eqIndex) number(x float64, memo []uint8) {
	mark(ix.nums[x], memo)
	for i := range ix.orders {
		if o := &ix.orders[i]; ix.orders[i].holds(x) {
			memo[o.id] = 2
		}
	}
}

func mark(ids []int32, memo []uint8) {
	for _, id := range ids {
		memo[id] = 2
	}
}
