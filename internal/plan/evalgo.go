package plan

import "github.com/segmatch/segmatch/operators"

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
