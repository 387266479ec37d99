// Package segmatch compiles marketing segments into predicates and
// evaluates contacts against them in memory.
//
// A segment (package filter) is compiled once into a Program: a tree of
// small nodes over field slots, every operator's value prepared in
// advance. A Program then answers Match for a decoded contact or MatchJSON
// for raw JSON bytes, from any number of goroutines, without allocating.
// Package engine evaluates many segments at once.
//
// What a segment means is fixed by SEMANTICS.md and summarised in the
// README's semantics section.
package segmatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmatch/segmatch/filter"
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
// of errors.Join over *CompileError values, each with the JSON Pointer of
// its place in the segment document.
func Compile(seg filter.Segment, opts ...Option) (*Program, error) {
	if err := filter.CheckSize(seg.Filters); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	c := &compiler{cfg: &cfg, budget: &budget{}, explain: true}
	root := c.group(seg.Match, seg.Filters, "", 1, false)
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return &Program{
		id: strings.Clone(seg.ID), name: strings.Clone(seg.Name),
		root: root, fields: c.fields, readsNow: c.readsNow, now: cfg.now,
		tree: newKeyTree(c.fields.paths),
		size: c.size, cost: c.budget.cost,
	}, nil
}

// Cost is the segment's estimated worst-case evaluation cost, in ns per
// byte of contact: the sum its conditions were charged against
// MaxSegmentCost (README "Bounds").
func (p *Program) Cost() int { return p.cost }

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

// nodeKind is what a node of the predicate tree does.
type nodeKind uint8

const (
	leafNode nodeKind = iota // test one field slot
	allNode                  // every child (and true when there are none)
	anyNode                  // some child (and true when there are none)
)

// node is one predicate of the tree.
type node struct {
	kind   nodeKind
	negate bool
	slot   int // leafNode: the field slot it reads
	test   operators.Test
	scalar *operators.Scalar                              // the test's scalar shape, when it has one
	goRest func(x any, found bool) (result, generic bool) // scalar on decoded contacts, below the top-level member
	leaf   int                                            // leafNode: identity of the condition, shared by identical ones
	top    int                                            // leafNode: index of the field's top-level key (-1: the empty path)
	kids   []*node
	// For decoded contacts (Program.Match), a group's Scalar conditions
	// grouped by top-level key, each key looked up once, and the rest.
	scopes []goScope
	others []*node
	// For many segments (Set), the children flat: a memoized condition is
	// decided from its id without touching its node.
	flat []flatKid
	// leafNode of a Program (not a Set): the condition as written, for
	// Explain; evaluation never reads it.
	info *condInfo
}

// flatKid is one child of a group: a condition (leaf >= 0) or a group.
type flatKid struct {
	leaf   int32
	negate bool
	node   *node
}

// goScope is the conditions of one group that read below one top-level
// key.
type goScope struct {
	key    string
	leaves []*node
}

// eval decides the node for one contact.
func (n *node) eval(r *reader, c *operators.Context) bool {
	var res bool
	switch n.kind {
	case leafNode:
		return n.decide(r, c)
	default:
		stop := n.kind == anyNode // see evalGo
		res = !stop || len(n.kids) == 0
		for _, k := range n.kids {
			if k.decide(r, c) == stop {
				res = stop
				break
			}
		}
	}
	return res != n.negate
}

// decide is eval with conditions inline: decided directly, or, with a
// memo (many segments), once per contact and possibly together with the
// other indexable conditions on the field.
func (n *node) decide(r *reader, c *operators.Context) bool {
	if n.kind != leafNode {
		return n.eval(r, c)
	}
	if r.memo == nil {
		return r.leaf(n, c) != n.negate
	}
	m := r.memo[n.leaf]
	if m == 0 {
		m = r.decideLeaf(n, c)
	}
	return (m == 2) != n.negate
}

// evalSet decides a group for one contact with a memo (many segments).
func (n *node) evalSet(r *reader, c *operators.Context) bool {
	stop := n.kind == anyNode // see evalGo
	res := !stop || len(n.flat) == 0
	for i := range n.flat {
		k := &n.flat[i]
		var v bool
		if k.leaf >= 0 {
			m := r.memo[k.leaf]
			if m == 0 {
				m = r.decideLeaf(k.node, c)
			}
			v = (m == 2) != k.negate
		} else {
			v = k.node.evalSet(r, c)
		}
		if v == stop {
			res = stop
			break
		}
	}
	return res != n.negate
}

// decideLeaf decides a condition into the memo (together with its kin
// when an index covers it) and returns its memo state.
func (r *reader) decideLeaf(n *node, c *operators.Context) uint8 {
	if r.indexes != nil && r.indexes[n.leaf] != nil {
		r.indexes[n.leaf].decide(r.cachedValue(n), r.memo)
	} else {
		r.memo[n.leaf] = 1 + b2u(r.leaf(n, c))
	}
	return r.memo[n.leaf]
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// compiler turns filters into nodes, collecting every problem.
type compiler struct {
	cfg       *config
	fields    fieldSet
	readsNow  bool
	errs      []error
	leaves    map[string]*node // identical conditions, by leafKey
	indexable []indexable      // per leaf id: how a field index can decide it
	size      int              // see Program.Size
	budget    *budget          // the whole segment's, shared with elem_match groups
	explain   bool             // keep each condition as written (condInfo), for Program.Explain
	lastSub   *subGroup        // the elem_match group subgroup compiled last
}

// budget is a segment's evaluation cost so far, against MaxSegmentCost.
type budget struct {
	cost     int
	exceeded bool
}

// intern gives n the identity of an identical condition compiled before
// (same field, operator, value and ignore_case; negation stays per use),
// sharing its prepared test.
func (c *compiler) intern(n *node, op *operators.Operator, f *filter.Filter) {
	pos := op
	if op.Negates != nil {
		pos = op.Negates
	}
	var v bytes.Buffer
	_ = json.Compact(&v, f.Value)
	key := strconv.Itoa(n.slot) + "\x00" + pos.Name + "\x00" + strconv.FormatBool(f.IgnoreCase) + "\x00" + v.String()
	if c.leaves == nil {
		c.leaves = map[string]*node{}
	}
	if prev, ok := c.leaves[key]; ok {
		n.leaf, n.test, n.scalar, n.goRest = prev.leaf, prev.test, prev.scalar, prev.goRest
		return
	}
	n.leaf = len(c.leaves)
	c.leaves[key] = n
	c.indexable = append(c.indexable, indexableOf(n.slot, pos.Name, f))
}

// charge adds a condition's evaluation cost (ns per contact byte) to the
// segment's, reporting the condition that takes it past MaxSegmentCost.
func (c *compiler) charge(ptr string, cost int) {
	b := c.budget
	b.cost += cost
	if b.cost > MaxSegmentCost && !b.exceeded {
		b.exceeded = true
		c.fail(ptr, filter.ErrTooComplex, fmt.Sprintf(
			"with this condition the segment may cost %d ns per byte of contact; at most %d (this condition: %d; see Bounds in the README for what each costs)",
			b.cost, MaxSegmentCost, cost))
	}
}

func (c *compiler) fail(path string, sentinel error, detail string) {
	c.errs = append(c.errs, filter.Errorf(path, sentinel, detail))
}

// group compiles a filter list combined by match, sitting at depth.
func (c *compiler) group(match filter.Match, fs []filter.Filter, ptr string, depth int, negate bool) *node {
	n := &node{kind: allNode, negate: negate}
	switch match {
	case filter.All, "":
	case filter.Any:
		n.kind = anyNode
	default:
		c.fail(ptr+"/match", filter.ErrBadMatch, fmt.Sprintf(`%q: want "all" or "any"`, string(match)))
	}
	if depth > filter.MaxDepth {
		c.fail(ptr+"/filters", filter.ErrTooDeep, fmt.Sprintf("at most %d levels", filter.MaxDepth))
		return n
	}
	c.charge(ptr, operators.CostScan) // a group is walked like a condition, per element under elem_match
	for i := range fs {
		n.kids = append(n.kids, c.filter(&fs[i], ptr+"/filters/"+strconv.Itoa(i), depth))
	}
	c.plan(n)
	for _, k := range n.kids {
		fk := flatKid{leaf: -1, node: k}
		if k.kind == leafNode {
			fk.leaf, fk.negate = int32(k.leaf), k.negate
		}
		n.flat = append(n.flat, fk)
	}
	return n
}

// plan groups a group's Scalar conditions by top-level key for evalGo.
// Conditions are pure, so the order they are decided in is free.
func (c *compiler) plan(n *node) {
	byKey := map[int]int{}
	for _, k := range n.kids {
		if k.kind != leafNode || k.goRest == nil || k.top < 0 {
			n.others = append(n.others, k)
			continue
		}
		i, ok := byKey[k.top]
		if !ok {
			i = len(n.scopes)
			byKey[k.top] = i
			n.scopes = append(n.scopes, goScope{key: c.fields.tops[k.top]})
		}
		n.scopes[i].leaves = append(n.scopes[i].leaves, k)
	}
}

// evalGo decides the node for a decoded contact, without a reader: each
// top-level key a group's conditions need is looked up once.
func (n *node) evalGo(m map[string]any, fs *fieldSet, c *operators.Context) bool {
	if n.kind == leafNode {
		return goLeaf(n, m, fs, c) != n.negate
	}
	// A group stops at the first child that decides it: false for all,
	// true for any; otherwise it is the opposite (an empty group is true).
	stop := n.kind == anyNode
	res := !stop || len(n.kids) == 0
scopes:
	for i := range n.scopes {
		sc := &n.scopes[i]
		x, found := m[sc.key]
		for _, l := range sc.leaves {
			v, generic := l.goRest(x, found)
			if generic {
				v = goLeaf(l, m, fs, c)
			}
			if v != l.negate == stop {
				res = stop
				break scopes
			}
		}
	}
	if res != stop {
		for _, k := range n.others {
			if k.evalGo(m, fs, c) == stop {
				res = stop
				break
			}
		}
	}
	return res != n.negate
}

// goLeaf decides a condition on a decoded contact in its general form
// (before negation).
func goLeaf(n *node, m map[string]any, fs *fieldSet, c *operators.Context) bool {
	v := operators.GetGo(m, fs.paths[n.slot])
	if n.scalar != nil {
		return n.scalar.Test(v, *c)
	}
	return n.test(v, *c)
}

// filter compiles one condition or group.
func (c *compiler) filter(f *filter.Filter, ptr string, depth int) *node {
	if f.IsGroup() {
		if f.Field != "" || len(f.Value) > 0 || f.IgnoreCase {
			c.fail(ptr+"/operator", filter.ErrUnknownOperator, "a condition needs an operator")
			return &node{kind: allNode}
		}
		return c.group(f.Match, f.Filters, ptr, depth+1, f.Negate)
	}
	if len(f.Filters) > 0 || f.Match != "" {
		c.fail(ptr, filter.ErrBadShape, "a filter is a condition or a group, not both")
	}
	n := &node{kind: leafNode, negate: f.Negate}
	// A path already read is its slot's: parsed once and shared by every
	// condition on it (the node's closures keep it), not copied per use.
	path, err := c.fields.path(f.Field)
	if err != nil {
		sentinel, shown := filter.ErrBadField, f.Field
		if errors.Is(err, filter.ErrTooComplex) {
			sentinel = filter.ErrTooComplex
			shown = shown[:min(len(shown), 40)] + "..."
		}
		c.fail(ptr+"/field", sentinel, fmt.Sprintf("%q: %v", shown, err))
	}
	op, ok := operators.Lookup(f.Operator)
	if !ok {
		c.errs = append(c.errs, filter.Unknown(ptr+"/operator", filter.ErrUnknownOperator, f.Operator, operators.Spellings()))
		return n
	}
	if len(f.Value) > 0 && !json.Valid(f.Value) {
		c.fail(ptr+"/value", filter.ErrBadValue, "not valid JSON")
		return n
	}
	arg := &operators.Arg{
		Value: f.Value, IgnoreCase: f.IgnoreCase, Pointer: ptr, Depth: depth,
		Group: c.subgroup,
	}
	var test operators.Test
	var err2 error
	c.lastSub = nil
	if op.PrepareScalar != nil {
		n.scalar, err2 = op.PrepareScalar(arg)
		if err2 == nil {
			test = n.scalar.Test
		}
	} else {
		test, err2 = op.Prepare(arg)
	}
	if err = err2; err != nil {
		var fe *filter.Error
		if errors.As(err, &fe) {
			c.errs = append(c.errs, err)
		} else {
			c.fail(ptr+"/value", filter.ErrBadValue, err.Error())
		}
		return n
	}
	n.test = test
	c.size += conditionSize + len(f.Field) + 8*len(f.Value) + arg.Size // a decoded value kept takes some 8 times its text (measured on a 100,000-element in list)
	c.charge(ptr, max(arg.Cost, operators.CostScan))
	n.negate = f.Negate != (op.Negates != nil)
	c.readsNow = c.readsNow || op.ReadsNow
	if c.explain {
		n.info = c.condInfo(f)
	}
	if path != nil {
		if _, seen := c.fields.index[f.Field]; !seen {
			c.size += pathStepSize * len(path) // its steps, and the key tree's nodes and tables
		}
		n.slot = c.fields.add(f.Field, path)
		n.top = c.fields.slotTop[n.slot]
		c.intern(n, op, f)
		if n.scalar != nil && n.top >= 0 {
			n.goRest = n.scalar.GoRestFunc(path[1:])
		}
	}
	return n
}

// subgroup compiles the group of an elem_match: fields relative to one
// element, evaluated with the element as the root.
func (c *compiler) subgroup(raw json.RawMessage, ptr string, depth int) (operators.Test, error) {
	g, err := filter.DecodeGroup(raw, ptr, depth)
	if err != nil {
		return nil, err
	}
	sub := &compiler{cfg: c.cfg, budget: c.budget, explain: c.explain}
	root := sub.group(g.Match, g.Filters, ptr, depth, g.Negate)
	if len(sub.errs) > 0 {
		return nil, errors.Join(sub.errs...)
	}
	c.readsNow = c.readsNow || sub.readsNow
	c.size += sub.size
	fields := sub.fields
	if c.explain {
		c.lastSub = &subGroup{root: root, fields: &fields}
	}
	return func(elem operators.Value, ctx operators.Context) bool {
		r := reader{elem: elem, mode: readElem, fields: &fields}
		return root.eval(&r, &ctx)
	}, nil
}

// fieldSet numbers the distinct field paths a program reads: its slots.
type fieldSet struct {
	names []string
	paths []filter.Path
	index map[string]int
	// tops are the distinct first keys of the paths: a decoded contact's
	// top-level members are looked up once each. Per slot, slotTop is the
	// index into tops (-1 for the empty path and a path starting "#").
	tops    []string
	topIdx  map[string]int
	slotTop []int
}

// path parses name, or returns the path of its slot when it has one.
func (s *fieldSet) path(name string) (filter.Path, error) {
	if i, ok := s.index[name]; ok {
		return s.paths[i], nil
	}
	return filter.ParsePath(name)
}

func (s *fieldSet) add(name string, p filter.Path) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	if s.index == nil {
		s.index = map[string]int{}
	}
	// A decoded segment's strings share its document's bytes: kept, a
	// field name would keep the whole document alive.
	name = strings.Clone(name)
	s.index[name] = len(s.names)
	s.names = append(s.names, name)
	s.paths = append(s.paths, p)
	t := -1
	if len(p) > 0 && !p[0].Len { // a leading "#" is the document's length, no key
		if s.topIdx == nil {
			s.topIdx = map[string]int{}
		}
		var ok bool
		if t, ok = s.topIdx[p[0].Key]; !ok {
			t = len(s.tops)
			s.topIdx[p[0].Key] = t
			s.tops = append(s.tops, p[0].Key)
		}
	}
	s.slotTop = append(s.slotTop, t)
	return len(s.names) - 1
}
