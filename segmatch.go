// Package segmatch compiles marketing segments into predicates and
// evaluates contacts against them in memory.
//
// A segment (package filter) is compiled once into a Program: a tree of
// small nodes over field slots, every operator's value prepared in
// advance. A Program then answers Match for a decoded contact or MatchJSON
// for raw JSON bytes, from any number of goroutines, without allocating,
// and Explain says why a contact is (not) in the segment. Package engine
// evaluates many segments at once.
//
// What a segment means is fixed by docs/semantics.md (the README's
// semantics section points there).
package segmatch

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/plan"
)

// Program is a compiled segment. It is immutable and safe for concurrent
// use by many goroutines.
type Program struct {
	p *plan.Program
}

// Compile compiles a segment, reporting every problem at once: the result
// of errors.Join over *CompileError values, each with the JSON Pointer of
// its place in the segment document. One segment alone needs no identity
// (engine.New, which tells segments apart, does).
func Compile(seg filter.Segment, opts ...Option) (*Program, error) {
	cfg := plan.Configure(opts)
	p, err := plan.Compile(seg, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Program{p}, nil
}

// Match reports whether a decoded contact (as encoding/json decodes a JSON
// object) is in the segment. It never fails and never allocates (except
// for the expr operator).
func (p *Program) Match(contact map[string]any) bool { return p.p.Match(contact) }

// MatchJSON reports whether a raw JSON object is in the segment, reading
// the fields it needs without decoding the document. The error is only for
// input that is not one well-formed JSON object (it wraps
// ErrMalformedContact or ErrNotObject).
func (p *Program) MatchJSON(raw []byte) (bool, error) { return p.p.MatchJSON(raw) }

// Explain evaluates a decoded contact like Match, reporting every group
// and condition, none skipped by short-circuiting. Its Matched is Match's
// answer. It allocates: it is for people, not for the hot path.
func (p *Program) Explain(contact map[string]any) *Explanation { return p.p.Explain(contact) }

// ExplainJSON is Explain for a raw JSON contact: its Matched is
// MatchJSON's answer, and its error MatchJSON's.
func (p *Program) ExplainJSON(raw []byte) (*Explanation, error) { return p.p.ExplainJSON(raw) }

// Fields lists the field paths the segment reads, as written, each once,
// in the order they first appear.
func (p *Program) Fields() []string { return p.p.Fields() }

// Key is how results know the segment: its ID, or its name without one.
func (p *Program) Key() string { return p.p.Key() }

// Cost is the segment's estimated worst-case evaluation cost, in ns per
// byte of contact: the sum its conditions were charged against
// MaxSegmentCost (README "Bounds").
func (p *Program) Cost() int { return p.p.Cost() }

// ReadsNow reports whether the segment has a relative-date condition
// (within_last, ...): its answer for a contact can change with time alone.
func (p *Program) ReadsNow() bool { return p.p.ReadsNow() }

// Size estimates, in bytes, the memory the compiled segment holds: its
// conditions, their prepared values, regex programs and expression
// bytecode. Stores bound a project's total with it (README "Bounds").
func (p *Program) Size() int { return p.p.Size() }

// MaxSegmentCost bounds what one evaluation of a segment may cost, in
// estimated nanoseconds per byte of the contact (README "Bounds"); a
// segment beyond it is ErrTooComplex.
const MaxSegmentCost = plan.MaxSegmentCost
