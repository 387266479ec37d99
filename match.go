package segmatch

import (
	"unsafe"

	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// ErrMalformedContact is wrapped by MatchJSON's error for input that is not
// one well-formed JSON object.
var ErrMalformedContact = rawjson.ErrMalformed

// ErrNotObject is MatchJSON's error for well-formed JSON that is not an
// object.
var ErrNotObject = rawjson.ErrNotObject

// reader gives the predicate tree the value of each field slot, read on
// demand from a decoded contact, from raw JSON whose wanted members were
// collected in one pass, or from an array element (elem_match).
type reader struct {
	mode   uint8 // readGo, readRaw, readElem
	goRoot any
	goMap  map[string]any // readGo: the contact
	// readGo: each top-level member looked up once per contact: value and
	// state (0 not yet, 1 absent, 2 present), inline for the first few.
	gv      [goCached]any
	gs      [goCached]uint8
	rawRoot string
	col     *collected // readRaw: every wanted member, collected in one pass
	elem    operators.Value
	fields  *fieldSet
	memo    []uint8       // per leaf: 0 not yet, 1 false, 2 true (nil: no memo)
	slots   *slotCache    // readRaw with a Scratch: each field looked up once
	indexes []*fieldIndex // with memo: per condition, the index deciding it with its kin
}

const goCached = 8

// goTop looks up top-level key t of a decoded contact, once.
func (r *reader) goTop(t int) (any, bool) {
	if t >= goCached {
		x, ok := r.goMap[r.fields.tops[t]]
		return x, ok
	}
	if r.gs[t] == 0 {
		x, ok := r.goMap[r.fields.tops[t]]
		r.gv[t], r.gs[t] = x, 1+b2u(ok)
	}
	return r.gv[t], r.gs[t] == 2
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

// slotCache holds, for one contact, each field's value once read
// (state 0: not yet, 1: read), so that however many conditions test a
// field, it is found and decoded once.
type slotCache struct {
	state []uint8
	vals  []operators.Value
}

// cachedValue is the value of a condition's field, read once per contact
// (a Set's reader).
func (r *reader) cachedValue(n *node) *operators.Value {
	sc := r.slots
	if sc.state[n.slot] == 0 {
		sc.vals[n.slot] = r.value(n.slot)
		sc.state[n.slot] = 1
	}
	return &sc.vals[n.slot]
}

// Match reports whether a decoded contact (as encoding/json decodes a JSON
// object) is in the segment. It never fails and never allocates (except
// for the expr operator).
func (p *Program) Match(contact map[string]any) bool {
	c := p.context()
	return p.root.evalGo(contact, &p.fields, &c)
}

// MatchJSON reports whether a raw JSON object is in the segment, reading
// the fields it needs without decoding the document. The error is only for
// input that is not one well-formed JSON object.
func (p *Program) MatchJSON(raw []byte) (bool, error) {
	col, _ := p.collected.Get().(*collected)
	if col == nil {
		col = newCollected(p.tree)
	}
	defer p.collected.Put(col)
	doc := bytesString(raw)
	col.start(doc)
	defer col.reset()
	r := reader{rawRoot: doc, mode: readRaw, fields: &p.fields, col: col}
	if err := rawjson.ValidateCollect(raw, col, rawjson.MaxCollectDepth); err != nil {
		return false, err
	}
	c := p.context()
	return p.root.eval(&r, &c), nil
}

func (p *Program) context() operators.Context {
	if p.readsNow {
		return operators.Context{Now: p.now()}
	}
	return operators.Context{}
}

// bytesString views b as a string without copying; the string must not
// outlive b's contents.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
