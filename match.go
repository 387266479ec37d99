package segmatch

import (
	"strings"
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
// demand from a decoded contact, from raw JSON whose wanted top-level
// members were collected in one pass, or from an array element
// (elem_match).
type reader struct {
	mode    uint8 // readGo, readRaw, readElem
	goRoot  any
	rawRoot string
	// readRaw: the raw value of each wanted top-level key and whether it
	// was present; inline so that they stay on the stack (a pointer from
	// the reader would leak them to the heap).
	tops  [inlineTops]string
	found [inlineTops]bool
	more  *moreTops // beyond inlineTops

	elem   operators.Value
	fields *fieldSet
	memo   []uint8 // per leaf: 0 not yet, 1 false, 2 true (nil: no memo)
}

const inlineTops = 16

type moreTops struct {
	tops  []string
	found []bool
}

// top returns the raw value of wanted top-level key t and whether it was
// present.
func (r *reader) top(t int) (string, bool) {
	if t < inlineTops {
		return r.tops[t], r.found[t]
	}
	return r.more.tops[t-inlineTops], r.more.found[t-inlineTops]
}

func (r *reader) setTop(t int, val string) {
	if t < inlineTops {
		r.tops[t], r.found[t] = val, true
		return
	}
	r.more.tops[t-inlineTops], r.more.found[t-inlineTops] = val, true
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
		t := r.fields.slotTop[slot]
		if t < 0 {
			return operators.GetRaw(r.rawRoot, p)
		}
		raw, ok := r.top(t)
		if !ok {
			return operators.MissingValue
		}
		return operators.GetRaw(raw, r.fields.rest[slot])
	}
	return r.elem.Get(p)
}

// scalar decides a Scalar-shaped leaf, reading the field's raw scalar
// directly when it is one.
func (r *reader) scalar(s *operators.Scalar, slot int) bool {
	switch r.mode {
	case readGo:
		if res, generic := s.Go(r.goRoot, r.fields.paths[slot]); !generic {
			return res
		}
	case readRaw:
		raw, found, generic := "", false, false
		if t := r.fields.slotTop[slot]; t < 0 {
			raw, found, generic = operators.LookupRaw(r.rawRoot, r.fields.paths[slot])
		} else if top, ok := r.top(t); ok {
			raw, found, generic = operators.LookupRaw(top, r.fields.rest[slot])
		}
		if !generic {
			if res, generic := s.Raw(raw, found); !generic {
				return res
			}
		}
	}
	return s.Test(r.value(slot), operators.Context{})
}

// collect reads the top-level members of a validated raw object once,
// keeping the wanted ones (the last of a repeated key, as encoding/json).
func (r *reader) collect(raw string) {
	fs := r.fields
	rawjson.ForEachMember(raw, func(rawKey, val string) bool {
		t := fs.top(rawKey)
		if t < 0 && strings.IndexByte(rawKey, '\\') >= 0 {
			t = fs.top(rawjson.Key(rawKey))
		}
		if t >= 0 {
			r.setTop(t, val)
		}
		return true
	})
}

// Match reports whether a decoded contact (as encoding/json decodes a JSON
// object) is in the segment. It never fails and never allocates (except
// for the expr operator).
func (p *Program) Match(contact map[string]any) bool {
	r := reader{goRoot: contact, mode: readGo, fields: &p.fields}
	c := p.context()
	return p.root.eval(&r, &c)
}

// MatchJSON reports whether a raw JSON object is in the segment, reading
// the fields it needs without decoding the document. The error is only for
// input that is not one well-formed JSON object.
func (p *Program) MatchJSON(raw []byte) (bool, error) {
	if err := rawjson.ValidateObject(raw); err != nil {
		return false, err
	}
	r := reader{rawRoot: bytesString(raw), mode: readRaw, fields: &p.fields}
	if n := len(p.fields.tops); n > inlineTops {
		r.more = &moreTops{make([]string, n-inlineTops), make([]bool, n-inlineTops)}
	}
	r.collect(r.rawRoot)
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
