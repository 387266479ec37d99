// Package engine evaluates many segments at once: what a campaign sender
// embeds ("which of my segments is this contact in?") and what a batch
// classification job streams millions of contacts through.
//
// An Engine is compiled once from a segment list; each contact is read in
// one pass over its raw JSON (the union of the fields every segment
// reads), and a condition shared by many segments is decided once. An
// Engine is immutable and safe for concurrent use; Live swaps a new one in
// while classifications run.
package engine

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/plan"
)

// Engine is a compiled set of segments.
type Engine struct {
	set     *plan.Set
	results sync.Pool // *Result, for the convenience calls
}

// New compiles segments. Every problem in every segment is reported at
// once; each *segmatch.CompileError's Path starts with the segment's
// index in segments ("/3/filters/0/value"). A segment needs an ID or a
// name (segmatch.ErrNoIdentity): results say which segments a contact is
// in by them.
func New(segments []filter.Segment, opts ...segmatch.Option) (*Engine, error) {
	cfg := plan.Configure(opts)
	if len(cfg.Capture) > maxCapture {
		return nil, fmt.Errorf("%w: %d members to capture; at most %d", ErrBadOptions, len(cfg.Capture), maxCapture)
	}
	for i, k := range cfg.Capture {
		if slices.Contains(cfg.Capture[:i], k) {
			return nil, fmt.Errorf("%w: member %q captured twice", ErrBadOptions, k)
		}
	}
	set, err := plan.CompileSet(segments, cfg.Now, cfg.Capture...)
	if err != nil {
		return nil, err
	}
	return &Engine{set: set}, nil
}

// maxCapture bounds segmatch.WithCapture (a capture is a byte-sized
// index in the key tree).
const maxCapture = 64

// Len is the number of segments.
func (e *Engine) Len() int { return e.set.Len() }

// IDs are the segments' IDs (a segment without one is known by its name),
// in the order given.
func (e *Engine) IDs() []string { return e.set.Keys() }

// Fields lists the distinct field paths the engine reads per contact.
func (e *Engine) Fields() []string { return e.set.Fields() }

// Conditions is the number of distinct conditions decided per contact.
func (e *Engine) Conditions() int { return e.set.Conditions() }

// ClassifyJSON returns the IDs of the segments a raw JSON contact belongs
// to, in segment order. The error is only for input that is not one
// well-formed JSON object (it wraps segmatch.ErrMalformedContact or
// segmatch.ErrNotObject).
func (e *Engine) ClassifyJSON(raw []byte) ([]string, error) {
	r := e.result()
	defer e.results.Put(r)
	if err := e.ClassifyJSONInto(raw, r); err != nil {
		return nil, err
	}
	return r.ids(), nil
}

// result is a pooled Result: the convenience calls allocate only the
// slice they return.
func (e *Engine) result() *Result {
	if r, ok := e.results.Get().(*Result); ok {
		return r
	}
	return e.NewResult()
}

// ClassifyMap returns the IDs of the segments a decoded contact belongs
// to, in segment order.
func (e *Engine) ClassifyMap(contact map[string]any) []string {
	r := e.result()
	defer e.results.Put(r)
	e.ClassifyMapInto(contact, r)
	return r.ids()
}

// Result is a caller-owned buffer for one contact's classification; reuse
// it (one per goroutine) and classification allocates nothing.
type Result struct {
	// Matches[i] reports whether the contact is in segment i.
	Matches []bool
	eng     *Engine
	scratch *plan.Scratch
	caps    []string // a stream's line: its captures (else the scratch's)
}

// Captured is the raw JSON of the k-th member named by
// segmatch.WithCapture in the last raw contact classified into r ("" when
// it has none, or the contact was decoded): a string or a number keeps
// its quotes or digits as written. It refers into that contact's bytes,
// so it is valid as long as they are (in a stream's sink: during the
// call).
func (r *Result) Captured(k int) string {
	if r.caps != nil {
		return r.caps[k]
	}
	if r.scratch == nil {
		return ""
	}
	return r.scratch.Captured()[k]
}

// NewResult makes a reusable result buffer for e.
func (e *Engine) NewResult() *Result {
	return &Result{Matches: make([]bool, e.set.Len()), eng: e, scratch: e.set.NewScratch()}
}

// AppendIDs appends the IDs of the matching segments to dst.
func (r *Result) AppendIDs(dst []string) []string {
	keys := r.eng.set.Keys()
	for i, m := range r.Matches {
		if m {
			dst = append(dst, keys[i])
		}
	}
	if dst == nil {
		dst = []string{}
	}
	return dst
}

// ids is the matching segments' IDs in a slice of its own, allocated once.
func (r *Result) ids() []string {
	return r.AppendIDs(make([]string, 0, r.Count()))
}

// Count is the number of matching segments.
func (r *Result) Count() int {
	n := 0
	for _, m := range r.Matches {
		if m {
			n++
		}
	}
	return n
}

// ClassifyJSONInto classifies a raw JSON contact into r, which must come
// from this engine's NewResult. It does not allocate.
func (e *Engine) ClassifyJSONInto(raw []byte, r *Result) error {
	return e.classifyJSONAt(raw, r, e.set.Now())
}

// ClassifyJSONAt is ClassifyJSONInto at the clock reading now: what a
// batch reads once (Now) so that all its contacts see one time, or a
// re-evaluation of relative dates at a later time.
func (e *Engine) ClassifyJSONAt(raw []byte, r *Result, now time.Time) error {
	return e.classifyJSONAt(raw, r, now)
}

// Now reads the engine's clock (WithNow), as a batch does once.
func (e *Engine) Now() time.Time { return e.set.Now() }

func (e *Engine) classifyJSONAt(raw []byte, r *Result, now time.Time) error {
	return e.set.MatchJSON(raw, now, r.Matches, r.scratch)
}

// ClassifyMapInto classifies a decoded contact into r.
func (e *Engine) ClassifyMapInto(contact map[string]any, r *Result) {
	e.set.Match(contact, e.set.Now(), r.Matches, r.scratch)
}
