package plan

import (
	"github.com/segmatch/segmatch/operators"
)

// reader gives the predicate tree the value of each field slot, read on
// demand from a decoded contact, from raw JSON whose wanted members were
// collected in one pass, or from an array element (elem_match).
type reader struct {
	mode   uint8 // readGo, readRaw, readElem
	goRoot any
	goMap  map[string]any // readGo: the contact
	// readGo: each top-level member looked up once per contact: value and
	// state (topUnread, topAbsent, topPresent), inline for the first few.
	gv      [goCached]any
	gs      [goCached]uint8
	rawRoot string
	col     *collected // readRaw: every wanted member, collected in one pass
	elem    operators.Value
	fields  *fieldSet
	memo    []uint8       // per leaf: its memo state (nil: no memo)
	slots   *slotCache    // readRaw with a Scratch: each field looked up once
	indexes []*fieldIndex // with memo: per condition, the index deciding it with its kin
}

const goCached = 8

// What a decoded contact's top-level member is known to be.
const (
	topUnread  uint8 = iota // not looked up yet
	topAbsent               // looked up: the contact has no such key
	topPresent              // looked up: present (its value in gv)
)

// goTop looks up top-level key t of a decoded contact, once.
func (r *reader) goTop(t int) (any, bool) {
	if t >= goCached {
		x, ok := r.goMap[r.fields.tops[t]]
		return x, ok
	}
	if r.gs[t] == topUnread {
		x, ok := r.goMap[r.fields.tops[t]]
		r.gv[t], r.gs[t] = x, topAbsent+b2u(ok)
	}
	return r.gv[t], r.gs[t] == topPresent
}

const (
	readGo = iota
	readRaw
	readElem
)

func (r *reader) value(slot int) operators.Value {
	p := r.fields.paths[slot]
	switch r.mode {
	case readGo:
		return operators.GetGo(r.goRoot, p)
	case readRaw:
		return r.col.value(slot)
	}
	return r.elem.Get(p)
}

// leaf decides a condition; a Scalar-shaped one reads the field's raw
// scalar directly when it is one.
func (r *reader) leaf(n *node, c *operators.Context) bool {
	if r.slots != nil { // many segments: every field decoded once
		v := r.cachedValue(n)
		if n.scalar != nil {
			return n.scalar.TestValue(v)
		}
		return n.test(*v, *c)
	}
	if n.scalar == nil {
		return n.test(r.value(n.slot), *c)
	}
	switch r.mode {
	case readGo:
		if n.goRest != nil {
			x, found := r.goTop(n.top)
			if res, generic := n.goRest(x, found); !generic {
				return res
			}
		}
	case readRaw:
		raw, found, generic := r.col.lookup(n.slot)
		if !generic {
			if res, generic := n.scalar.Raw(raw, found); !generic {
				return res
			}
		}
	}
	return n.scalar.Test(r.value(n.slot), *c)
}

// slotCache holds, for one contact, each field's value once read, so
// that however many conditions test a field, it is found and decoded once.
type slotCache struct {
	read []bool // per slot: vals holds its value
	vals []operators.Value
}

// cachedValue is the value of a condition's field, read once per contact
// (a Set's reader).
func (r *reader) cachedValue(n *node) *operators.Value {
	sc := r.slots
	v := &sc.vals[n.slot]
	if !sc.read[n.slot] {
		if r.mode == readRaw {
			r.col.valueInto(n.slot, v)
		} else {
			*v = r.value(n.slot)
		}
		sc.read[n.slot] = true
	}
	return v
}
