package keeper

import (
	"fmt"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// Programs is the fallback Classifier: every segment compiled on its own
// with segmatch.Compile and evaluated one after the other. It is what the
// keeper builds until the multi-segment engine is plugged in.
type Programs struct {
	progs []*segmatch.Program
}

// CompileEach is a BuildFunc that compiles each segment with
// segmatch.Compile (and opts, e.g. segmatch.WithNow).
func CompileEach(opts ...segmatch.Option) BuildFunc {
	return func(segs []filter.Segment) (Classifier, error) {
		return Compile(segs, opts...)
	}
}

// Compile compiles segs into Programs, failing on the first segment that
// does not compile.
func Compile(segs []filter.Segment, opts ...segmatch.Option) (*Programs, error) {
	ps := &Programs{progs: make([]*segmatch.Program, 0, len(segs))}
	for i := range segs {
		p, err := segmatch.Compile(segs[i], opts...)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", segs[i].Key(), err)
		}
		ps.progs = append(ps.progs, p)
	}
	return ps, nil
}

// ClassifyMap returns the keys (ids) of the segments contact belongs to,
// in the order the segments were given; never nil.
func (ps *Programs) ClassifyMap(contact map[string]any) []string {
	out := []string{}
	for _, p := range ps.progs {
		if p.Match(contact) {
			out = append(out, p.Key())
		}
	}
	return out
}

// Len is the number of segments.
func (ps *Programs) Len() int { return len(ps.progs) }
