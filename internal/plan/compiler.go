package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// compiler turns filters into nodes, collecting every problem.
type compiler struct {
	fields    fieldSet
	readsNow  bool
	errs      []error
	leaves    map[leafKey]*node // identical conditions
	indexable []indexable       // per leaf id: how a field index can decide it
	size      int               // see Program.Size
	budget    *budget           // the whole segment's, shared with elem_match groups
	target    target            // what the layouts are built for
	lastSub   *subGroup         // the elem_match group subgroup compiled last
}

// target is what a compilation is for, which decides the layouts built
// beside the tree: each evaluator reads its own, and building the others
// would be wasted.
type target uint8

const (
	// forProgram: one segment (Compile). Groups get their conditions by
	// top-level key (evalGo), conditions what Explain shows.
	forProgram target = iota
	// forSet: many segments (CompileSet). Groups get their children flat
	// (evalSet), conditions their field-index analysis.
	forSet
)

// budget is a segment's evaluation cost so far, against MaxSegmentCost.
type budget struct {
	cost     int
	exceeded bool
}

// leafKey is what makes two conditions the same: the field's slot, the
// positive operator, ignore_case and the value compacted.
type leafKey struct {
	slot       int
	op         string
	ignoreCase bool
	value      string
}

// intern gives n the identity of an identical condition compiled before
// (same field, operator, value and ignore_case; negation stays per use),
// sharing its prepared test.
func (c *compiler) intern(n *node, op *operators.Operator, f *filter.Filter) {
	pos := op
	if op.Negates != nil {
		pos = op.Negates
	}
	value := string(f.Value)
	if !rawjson.IsCompact(value) {
		var v bytes.Buffer
		_ = json.Compact(&v, f.Value)
		value = v.String()
	}
	key := leafKey{n.slot, pos.Name, f.IgnoreCase, value}
	if c.leaves == nil {
		c.leaves = map[leafKey]*node{}
	}
	if prev, ok := c.leaves[key]; ok {
		n.leaf, n.test, n.scalar, n.goRest = prev.leaf, prev.test, prev.scalar, prev.goRest
		return
	}
	n.leaf = len(c.leaves)
	c.leaves[key] = n
	if c.target == forSet {
		c.indexable = append(c.indexable, indexableOf(n.slot, pos.Index, f))
	}
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
	if c.target == forProgram {
		c.plan(n)
		return n
	}
	n.flat = make([]flatKid, 0, len(n.kids))
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
	if len(f.Value) > 0 && rawjson.Validate(f.Value) != nil {
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
	if c.target == forProgram {
		n.info = c.condInfo(f)
	}
	if path != nil {
		if _, seen := c.fields.index[f.Field]; !seen {
			c.size += pathStepSize * len(path) // its steps, and the key tree's nodes and tables
		}
		n.slot = c.fields.add(f.Field, path)
		n.top = c.fields.slotTop[n.slot]
		c.intern(n, op, f)
		if n.scalar != nil && n.top >= 0 && c.target == forProgram {
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
	sub := &compiler{budget: c.budget, target: c.target}
	root := sub.group(g.Match, g.Filters, ptr, depth, g.Negate)
	if len(sub.errs) > 0 {
		return nil, errors.Join(sub.errs...)
	}
	c.readsNow = c.readsNow || sub.readsNow
	c.size += sub.size
	fields := sub.fields
	if c.target == forProgram {
		c.lastSub = &subGroup{root: root, fields: &fields}
	}
	return func(elem operators.Value, ctx operators.Context) bool {
		r := reader{elem: elem, mode: readElem, fields: &fields}
		return root.eval(&r, &ctx)
	}, nil
}
