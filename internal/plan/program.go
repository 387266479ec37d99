// Package plan is the compiled form of segments and its evaluators: the
// compiler turns a segment (package filter) into a predicate tree over
// field slots, every operator's value prepared once (package operators);
// the tree is evaluated on decoded contacts or on raw JSON read in one
// pass; a Set packs many segments, deciding a condition they share once
// and deciding the conditions on one field together through a field index.
//
// The package takes a clock and reports filter errors, so that it depends
// on the model and the operators only: the root package (one segment) and
// package engine (many) are its front doors.
package plan

import (
	"errors"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// Program is a compiled segment. It is immutable and safe for concurrent
// use by many goroutines.
type Program struct {
	id, name  string
	root      *node
	fields    fieldSet
	readsNow  bool
	now       func() time.Time
	tree      *keyTree
	collected sync.Pool // *collected for MatchJSON
	size      int
	cost      int
}

// Compile compiles a segment, reporting every problem at once: the result
// of errors.Join over *filter.Error values, each with the JSON Pointer of
// its place in the segment document.
func Compile(seg filter.Segment, now func() time.Time) (*Program, error) {
	if err := filter.CheckSize(seg.Filters); err != nil {
		return nil, err
	}
	c := &compiler{budget: &budget{}, target: forProgram}
	root := c.group(seg.Match, seg.Filters, "", 1, false)
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return &Program{
		id: strings.Clone(seg.ID), name: strings.Clone(seg.Name),
		root: root, fields: c.fields, readsNow: c.readsNow, now: now,
		tree: newKeyTree(c.fields.paths),
		size: c.size, cost: c.budget.cost,
	}, nil
}

// Cost is the segment's estimated worst-case evaluation cost, in ns per
// byte of contact: the sum its conditions were charged against
// MaxSegmentCost (README "Bounds").
func (p *Program) Cost() int { return p.cost }

// ReadsNow reports whether the segment has a relative-date condition, so
// that its answer can change with time alone.
func (p *Program) ReadsNow() bool { return p.readsNow }

// Size estimates, in bytes, the memory the compiled segment holds: its
// conditions, their prepared values, regex programs and expression
// bytecode. Stores bound a project's total with it (README "Bounds").
func (p *Program) Size() int { return p.size }

// pathStepSize is the estimated cost of one step of a distinct field path:
// its parsed step and its node and table in the key tree (4,096 distinct
// 32-step paths kept 13.6 times what a flat estimate said).
const pathStepSize = 256

// conditionSize is the estimated fixed cost of one compiled condition
// (its node, field slot and prepared test), before its value.
const conditionSize = 256

// Fields lists the field paths the segment reads, as written, each once,
// in the order they first appear.
func (p *Program) Fields() []string { return append([]string(nil), p.fields.names...) }

// Key is how results know the segment: its ID, or its name without one.
func (p *Program) Key() string {
	if p.id != "" {
		return p.id
	}
	return p.name
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
	r, err := p.readRaw(raw)
	defer p.release(r.col)
	if err != nil {
		return false, err
	}
	c := p.context()
	return p.root.eval(&r, &c), nil
}

// readRaw validates raw and collects, in the same pass, every member the
// program reads into a pooled collection, which release returns (also on
// error).
func (p *Program) readRaw(raw []byte) (reader, error) {
	col, _ := p.collected.Get().(*collected)
	if col == nil {
		col = newCollected(p.tree)
	}
	doc := bytesString(raw)
	col.start(doc)
	r := reader{rawRoot: doc, mode: readRaw, fields: &p.fields, col: col}
	return r, rawjson.ValidateCollect(raw, col, rawjson.MaxCollectDepth)
}

func (p *Program) release(col *collected) {
	col.reset()
	p.collected.Put(col)
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
