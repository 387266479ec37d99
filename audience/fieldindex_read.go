package audience

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/plan"
	"github.com/segmatch/segmatch/operators"
)

// reader reads the values of many paths from a contact in one pass: the
// key tree the engine reads contacts with (plan.KeyReader), so that the
// field index reads every contact exactly as MatchJSON does, one
// implementation for both.
type reader struct {
	paths []*pathIndex
	kr    *plan.KeyReader
}

func newReader(paths []*pathIndex) *reader {
	ps := make([]filter.Path, len(paths))
	for i, p := range paths {
		ps[i] = p.path
	}
	return &reader{paths: paths, kr: plan.NewKeyReader(ps)}
}

// reading is one contact's members on a reader's tree.
type reading struct {
	kr   *plan.KeyReading
	none bool // no contact: every path missing
}

func (r *reader) newReading() *reading { return &reading{kr: r.kr.NewReading()} }

// read takes raw's members; raw is a valid JSON object (nil: none, every
// path missing).
func (c *reading) read(raw []byte) {
	c.none = raw == nil
	if !c.none {
		_ = c.kr.Read(raw) // validated when it was kept
	}
}

// reset drops the references into the contact.
func (c *reading) reset() { c.kr.Reset() }

// value is path i's value.
func (c *reading) value(i int) operators.Value {
	if c.none {
		return operators.MissingValue
	}
	return c.kr.Value(i)
}

// same reports whether path i reads the same text in both readings (so
// the same value).
func same(a, b *reading, i int) bool {
	if a.none || b.none {
		return a.none && b.none
	}
	na, ta, ma := a.kr.Source(i)
	nb, tb, mb := b.kr.Source(i)
	if ma || mb {
		return ma && mb
	}
	return na == nb && ta == tb
}
