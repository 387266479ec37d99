package operators

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// Get reads a field path from v (docs/semantics.md "Contacts and field paths"): an
// object step reads a member (the last one, when raw JSON repeats a key,
// as encoding/json does); on an array a decimal step indexes it, a final
// "#" is its length, and any other step fans out over its elements. A
// fan-out that reaches no value reads as missing. The empty path is v.
func (v Value) Get(p filter.Path) Value {
	return v.get(p)
}

// GetGo reads a path from a decoded Go value (the root of a contact).
func GetGo(root any, p filter.Path) Value { return getGo(root, p) }

// GetRaw reads a path from raw JSON that rawjson.Validate accepted.
func GetRaw(root string, p filter.Path) Value { return getRaw(root, p) }

func (v Value) get(p filter.Path) Value {
	switch {
	case len(p) == 0:
		return v
	case v.fan != nil:
		return MissingValue
	case v.ref != nil:
		return getGo(v.ref, p)
	case v.kind == Object || v.kind == Array:
		return getRaw(v.str, p)
	}
	return MissingValue
}

func getGo(cur any, p filter.Path) Value {
	for i := range p {
		st := &p[i]
		switch t := cur.(type) {
		case map[string]any:
			if st.Len {
				return MissingValue
			}
			x, ok := t[st.Key]
			if !ok {
				return MissingValue
			}
			cur = x
		case []any:
			switch {
			case st.Len:
				return Value{kind: Number, num: float64(len(t))}
			case st.Index >= 0:
				if st.Index >= len(t) {
					return MissingValue
				}
				cur = t[st.Index]
			default:
				return fanOut(Value{kind: Array, ref: cur}, p[i:])
			}
		default:
			return MissingValue
		}
	}
	return Of(cur)
}

func getRaw(cur string, p filter.Path) Value {
	cur = rawjson.Trim(cur)
	for i := range p {
		st := &p[i]
		if cur == "" {
			return MissingValue
		}
		switch cur[0] {
		case '{':
			if st.Len {
				return MissingValue
			}
			v, ok := rawjson.Member(cur, st.Key)
			if !ok {
				return MissingValue
			}
			cur = v
		case '[':
			switch {
			case st.Len:
				n := 0
				rawjson.ForEachElem(cur, func(string) bool { n++; return false })
				return Value{kind: Number, num: float64(n)}
			case st.Index >= 0:
				var elem string
				n := 0
				if !rawjson.ForEachElem(cur, func(e string) bool {
					if n == st.Index {
						elem = e
						return true
					}
					n++
					return false
				}) {
					return MissingValue
				}
				cur = elem
			default:
				return fanOut(Value{kind: Array, str: cur}, p[i:])
			}
		default:
			return MissingValue
		}
	}
	return OfRaw(cur)
}

// eachFanElem iterates the elements a fan-out reads from: those of arr,
// and of every array nested in it (the rest of the path, a key step,
// fans out over a nested array in turn). Raw arrays are walked in one
// pass (rawjson.ForEachFlat), so a contact nested 10,000 deep costs
// linear time, not quadratic.
func (v Value) eachFanElem(fn func(Value) bool) bool {
	if v.ref != nil {
		return v.eachArrayElem(fn) // decoded: nested arrays fan out through get, at no skipping cost
	}
	return rawjson.ForEachFlat(v.str, func(e string) bool { return fn(OfRaw(e)) })
}

// fanOut makes the virtual array of what rest reaches in each element of
// arr, or Missing when it reaches nothing. An element that reaches an
// empty array counts: the field is then present, an empty array.
func fanOut(arr Value, rest filter.Path) Value {
	reached := arr.eachFanElem(func(e Value) bool { return e.get(rest).kind != Missing })
	if !reached {
		return MissingValue
	}
	arr.fan = rest
	return arr
}
