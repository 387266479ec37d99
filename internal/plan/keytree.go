package plan

import (
	"strings"
	"unicode/utf8"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// keyTree is the field paths a plan reads, as a tree of object keys
// numbered depth-first from the document (node 0). A raw contact is
// validated and read in one pass (rawjson.ValidateCollect) that keeps the
// value of every member on the tree, however deep, instead of scanning
// nested objects again per field.
type keyTree struct {
	kids   []keyTable // per node: its children by key
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
}

func newKeyTree(paths []filter.Path) *keyTree {
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
		t.kids = append(t.kids, keyTable{})
		for _, k := range n.keys {
			walk(n.kids[k], n.id, depth+1)
		}
		t.end[n.id] = int32(len(t.parent))
		var keys []string
		var ids []int32
		for _, k := range n.keys {
			keys, ids = append(keys, k), append(ids, n.kids[k].id)
		}
		t.kids[n.id] = newKeyTable(keys, ids)
	}
	walk(root, -1, 0)
	for slot := range paths {
		t.slotNode = append(t.slotNode, nodeOf[slot].id)
	}
	t.slotRest = rests
	return t
}

// keyTable finds a child by key: open addressing on a cheap hash, exact
// comparison deciding (the hash only spreads the few keys a node has;
// contact keys cannot lengthen a probe beyond the table's own clusters).
type keyTable struct {
	keys  []string
	nodes []int32 // -1: empty
	mask  uint32
}

func newKeyTable(keys []string, nodes []int32) keyTable {
	if len(keys) == 0 {
		return keyTable{}
	}
	size := uint32(4)
	for size < uint32(2*len(keys)) {
		size *= 2
	}
	t := keyTable{keys: make([]string, size), nodes: make([]int32, size), mask: size - 1}
	for i := range t.nodes {
		t.nodes[i] = -1
	}
	for i, k := range keys {
		j := keyHash(k) & t.mask
		for t.nodes[j] >= 0 {
			j = (j + 1) & t.mask
		}
		t.keys[j], t.nodes[j] = k, nodes[i]
	}
	return t
}

func keyHash(k string) uint32 {
	h := uint32(len(k)) * 0x9e3779b1
	if len(k) > 0 {
		h ^= uint32(k[0])<<8 | uint32(k[len(k)-1])
		h ^= uint32(k[len(k)/2]) << 16
	}
	return h ^ h>>15
}

func (t *keyTable) find(k string) int32 {
	if t.mask == 0 {
		return -1
	}
	for j := keyHash(k) & t.mask; ; j = (j + 1) & t.mask {
		n := t.nodes[j]
		if n < 0 || t.keys[j] == k {
			return n
		}
	}
}

// collected is one contact's members on a keyTree: the raw value of each
// node found (the last of a repeated key, as encoding/json keeps). It is
// the rawjson.Collector of the one pass.
type collected struct {
	tree  *keyTree
	raw   []string
	found []bool
}

func newCollected(t *keyTree) *collected {
	n := len(t.parent)
	return &collected{tree: t, raw: make([]string, n), found: make([]bool, n)}
}

// start prepares for a document.
func (c *collected) start(doc string) {
	clear(c.found)
	c.raw[0], c.found[0] = doc, true
}

// reset drops the references into the last document.
func (c *collected) reset() { clear(c.raw) }

func (c *collected) Member(parent int32, rawKey string) int32 {
	t := &c.tree.kids[parent]
	n := t.find(rawKey)
	if n < 0 && (strings.IndexByte(rawKey, '\\') >= 0 || c.tree.repaired && !utf8.ValidString(rawKey)) {
		n = t.find(rawjson.DecodedKey(rawKey)) // as encoding/json reads the key
	}
	if n >= 0 {
		// a repeated key: what an earlier value held is gone
		clear(c.found[n+1 : c.tree.end[n]])
	}
	return n
}

func (c *collected) Value(node int32, raw string) {
	c.raw[node], c.found[node] = raw, true
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
