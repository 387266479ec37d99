package plan

import "github.com/segmatch/segmatch/operators"

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
	if m == undecided {
		m = r.decideLeaf(n, c)
	}
	return (m == decidedTrue) != n.negate
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
			if m == undecided {
				m = r.decideLeaf(k.node, c)
			}
			v = (m == decidedTrue) != k.negate
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
		r.memo[n.leaf] = decided(r.leaf(n, c))
	}
	return r.memo[n.leaf]
}

// A condition's memo state for the current contact (many segments): the
// memo is cleared to undecided per contact. decidedTrue>>1 is 1 and
// decidedFalse>>1 is 0, which combine's packed references rely on.
const (
	undecided    uint8 = iota // not decided yet
	decidedFalse              // decided, false
	decidedTrue               // decided, true
)

// decided is the memo state of a decision.
func decided(b bool) uint8 { return decidedFalse + b2u(b) }

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
