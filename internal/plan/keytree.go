package plan

import (
	"strings"
	"unicode/utf8"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/keytable"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// keyTree is the field paths a plan reads, as a tree of object keys
// numbered depth-first from the document (node 0). A raw contact is
// validated and read in one pass (rawjson.ValidateCollect) that keeps the
// value of every member on the tree, however deep, instead of scanning
// nested objects again per field.
type keyTree struct {
	kids   []keytable.Table // per node: its children by key
	parent []int32
	depth  []int32 // keys from the document to the node
	end    []int32 // the node's subtree is [node, end)
	// per slot: the deepest node on its path and the steps after it
	// (a final "#", or keys beyond MaxCollectDepth)
	slotNode []int32
	slotRest []filter.Path
	paths    []filter.Path
	// repaired: some key holds U+FFFD, which a raw key with invalid UTF-8
	// decodes to.
	repaired bool
	// capOf: per node, the capture it is (-1: none); see newKeyTree
	capOf []int8
	caps  int
}

// newKeyTree builds the tree of paths and of the top-level members to
// capture (Config.Capture): their nodes are read as any other, and the
// first value of each is kept apart (collected.captured).
func newKeyTree(paths []filter.Path, capture ...string) *keyTree {
	slots := len(paths)
	for _, k := range capture {
		paths = append(paths[:len(paths):len(paths)], filter.Path{{Key: k, Index: -1}})
	}
	type tmp struct {
		kids map[string]*tmp
		keys []string // in first-seen order
		id   int32
	}
	root := &tmp{}
	nodeOf := make([]*tmp, len(paths))
	rests := make([]filter.Path, len(paths))
	t := &keyTree{paths: paths}
	for slot, p := range paths {
		n := root
		i := 0
		for ; i < len(p) && i < rawjson.MaxCollectDepth && !p[i].Len; i++ {
			k := p[i].Key
			t.repaired = t.repaired || strings.ContainsRune(k, utf8.RuneError)
			if n.kids == nil {
				n.kids = map[string]*tmp{}
			}
			next, ok := n.kids[k]
			if !ok {
				next = &tmp{}
				n.kids[k] = next
				n.keys = append(n.keys, k)
			}
			n = next
		}
		nodeOf[slot], rests[slot] = n, p[i:]
	}
	// number depth-first, so that a subtree is a range
	var walk func(n *tmp, parent, depth int32)
	walk = func(n *tmp, parent, depth int32) {
		n.id = int32(len(t.parent))
		t.parent = append(t.parent, parent)
		t.depth = append(t.depth, depth)
		t.end = append(t.end, 0)
		t.kids = append(t.kids, keytable.Table{})
		for _, k := range n.keys {
			walk(n.kids[k], n.id, depth+1)
		}
		t.end[n.id] = int32(len(t.parent))
		var keys []string
		var ids []int32
		for _, k := range n.keys {
			keys, ids = append(keys, k), append(ids, n.kids[k].id)
		}
		t.kids[n.id] = keytable.New(keys, ids)
	}
	walk(root, -1, 0)
	for slot := range paths {
		t.slotNode = append(t.slotNode, nodeOf[slot].id)
	}
	t.capOf = make([]int8, len(t.parent))
	for i := range t.capOf {
		t.capOf[i] = -1
	}
	for k := range capture {
		t.capOf[t.slotNode[slots+k]] = int8(k)
	}
	t.caps = len(capture)
	t.paths, t.slotNode, t.slotRest = paths[:slots], t.slotNode[:slots], rests[:slots]
	return t
}

// collected is one contact's members on a keyTree: the raw value of each
// node found (the last of a repeated key, as encoding/json keeps). It is
// the rawjson.Collector of the one pass.
type collected struct {
	tree  *keyTree
	raw   []string
	found []bool
	// captured: the first value of each capture (Config.Capture) in the
	// last document, "" for none; kept past reset, until the next start
	captured []string
}

func newCollected(t *keyTree) *collected {
	n := len(t.parent)
	return &collected{tree: t, raw: make([]string, n), found: make([]bool, n), captured: make([]string, t.caps)}
}

// start prepares for a document.
func (c *collected) start(doc string) {
	clear(c.found)
	clear(c.captured)
	c.raw[0], c.found[0] = doc, true
}

// reset drops the references into the last document.
func (c *collected) reset() { clear(c.raw) }

func (c *collected) Member(parent int32, rawKey string) int32 {
	t := &c.tree.kids[parent]
	n := t.Find(rawKey)
	if n < 0 && (strings.IndexByte(rawKey, '\\') >= 0 || c.tree.repaired && !utf8.ValidString(rawKey)) {
		n = t.Find(rawjson.DecodedKey(rawKey)) // as encoding/json reads the key
	}
	if n >= 0 {
		if end := c.tree.end[n]; end > n+1 { // a node with a subtree
			// a repeated key: what an earlier value held is gone
			clear(c.found[n+1 : end])
		}
	}
	return n
}

func (c *collected) Value(node int32, raw string) {
	c.raw[node], c.found[node] = raw, true
	if k := c.tree.capOf[node]; k >= 0 && c.captured[k] == "" { // a raw value is never empty
		c.captured[k] = raw
	}
}

// resolve finds where a slot's value is read: missing when a key on its
// path is; otherwise from the deepest node when every node above it holds
// an object, and else from the first node that does not (an array fans
// out, a scalar has no members), rest being the steps after that node.
func (c *collected) resolve(slot int) (from int32, rest filter.Path, missing bool) {
	t := c.tree
	n := t.slotNode[slot]
	from = n
	for a := n; a > 0; a = t.parent[a] {
		switch {
		case !c.found[a]:
			missing = true
		case a != n && c.raw[a][0] != '{':
			from, missing = a, false
		}
	}
	if from == n {
		return n, t.slotRest[slot], missing
	}
	return from, t.paths[slot][t.depth[from]:], missing
}

// value is a slot's value.
func (c *collected) value(slot int) operators.Value {
	from, rest, missing := c.resolve(slot)
	switch {
	case missing:
		return operators.MissingValue
	case len(rest) == 0:
		return operators.OfRaw(c.raw[from])
	}
	return operators.GetRaw(c.raw[from], rest)
}

// valueInto sets *dst to a slot's value (value, decoded in place rather
// than copied through returns).
func (c *collected) valueInto(slot int, dst *operators.Value) {
	from, rest, missing := c.resolve(slot)
	switch {
	case missing:
		*dst = operators.MissingValue
	case len(rest) == 0:
		dst.SetRaw(c.raw[from])
	default:
		*dst = operators.GetRaw(c.raw[from], rest)
	}
}

// lookup is a slot's raw value, when it is one piece of the document
// (generic: it needs the general form, as operators.LookupRaw says).
func (c *collected) lookup(slot int) (raw string, found, generic bool) {
	from, rest, missing := c.resolve(slot)
	switch {
	case missing:
		return "", false, false
	case len(rest) == 0:
		return c.raw[from], true, false
	}
	return operators.LookupRaw(c.raw[from], rest)
}
