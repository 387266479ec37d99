package operators

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/tidwall/gjson"
)

// Get reads a field path from v (SEMANTICS "Contacts and fields"): an
// object step reads a member (the last one, when raw JSON repeats a key,
// as encoding/json does); on an array a decimal step indexes it, a final
// "#" is its length, and any other step fans out over its elements. A
// fan-out that reaches no value reads as missing.
func (v Value) Get(p filter.Path) Value {
	return v.get(p)
}

func (v Value) get(p filter.Path) Value {
	cur := v
	for i := range p {
		st := &p[i]
		switch cur.kind {
		case Object:
			if st.Len {
				return MissingValue
			}
			cur = cur.member(st.Key)
		case Array:
			if st.Len {
				return Value{kind: Number, num: float64(cur.Len())}
			}
			if st.Index >= 0 {
				cur = cur.index(st.Index)
				continue
			}
			fan := Value{kind: Array, str: cur.str, ref: cur.ref, fan: p[i:]}
			if !fan.reachesAny() {
				return MissingValue
			}
			return fan
		default:
			return MissingValue
		}
	}
	return cur
}

// reachesAny reports whether the rest of a fan-out's path reaches a value
// in some element. An element that reaches an empty array counts: the
// field is then present, an empty (virtual) array, not missing.
func (v Value) reachesAny() bool {
	return v.eachArrayElem(func(e Value) bool { return e.get(v.fan).kind != Missing })
}

// member reads key of an object (Missing when absent).
func (v Value) member(key string) Value {
	if v.ref != nil {
		m, ok := v.ref.(map[string]any)
		if !ok {
			return MissingValue
		}
		x, ok := m[key]
		if !ok {
			return MissingValue
		}
		return Of(x)
	}
	var out gjson.Result
	found := false
	gjson.Parse(v.str).ForEach(func(k, val gjson.Result) bool {
		if k.Str == key {
			out, found = val, true
		}
		return true
	})
	if !found {
		return MissingValue
	}
	return OfJSON(out)
}

// index reads element i of an array (Missing when out of range).
func (v Value) index(i int) Value {
	if v.fan != nil {
		return MissingValue
	}
	if v.ref != nil {
		a := v.ref.([]any)
		if i >= len(a) {
			return MissingValue
		}
		return Of(a[i])
	}
	var out Value
	n := 0
	gjson.Parse(v.str).ForEach(func(_, e gjson.Result) bool {
		if n == i {
			out = OfJSON(e)
			return false
		}
		n++
		return true
	})
	return out
}
