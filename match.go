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

// reader gives the predicate tree the value of each field slot: read on
// demand from root, or taken from vals when they were extracted in one
// pass over raw JSON.
type reader struct {
	root   operators.Value
	fields *fieldSet
}

func (r *reader) value(slot int) operators.Value {
	return r.root.Get(r.fields.paths[slot])
}

// Match reports whether a decoded contact (as encoding/json decodes a JSON
// object) is in the segment. It never fails and never allocates (except
// for the expr operator).
func (p *Program) Match(contact map[string]any) bool {
	r := reader{root: operators.Of(contact), fields: &p.fields}
	return p.root.eval(&r, p.context())
}

// MatchJSON reports whether a raw JSON object is in the segment, reading
// the fields it needs without decoding the document. The error is only for
// input that is not one well-formed JSON object.
func (p *Program) MatchJSON(raw []byte) (bool, error) {
	if err := rawjson.ValidateObject(raw); err != nil {
		return false, err
	}
	r := reader{root: operators.OfJSON(parseRaw(raw)), fields: &p.fields}
	return p.root.eval(&r, p.context()), nil
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
