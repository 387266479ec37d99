package audience

import (
	"strings"
	"unicode/utf8"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/keytable"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// reader reads the values of many paths from a contact in one pass (the
// validator's, rawjson.ValidateCollect), as operators.GetRaw reads each:
// the object keys of every path form a tree, the pass keeps the raw value
// of each member on it (the last of a repeated key), and a path's value is
// read from the deepest member on its way that is an object's, the steps
// after it (an array's fan-out or index, a length, a scalar's nothing)
// taken by GetRaw on that member alone. It is the model of
// internal/plan's key tree, which the engine reads contacts with.
//
// A path with a key holding U+FFFD or invalid UTF-8 (which a raw key's
// repair could produce) is not on the tree: GetRaw reads it alone.
type reader struct {
	paths []*pathIndex
	// per node: children by key, parent, depth (keys from the document),
	// and end (the node's subtree is [node, end))
	kids   []keytable.Table
	parent []int32
	depth  []int32
	end    []int32
	// per path: its deepest node (-1: read alone) and the steps after it
	node     []int32
	rest     []filter.Path
	depthMax int
}

func newReader(paths []*pathIndex) *reader {
	type tmp struct {
		kids map[string]*tmp
		keys []string // in first-seen order
		id   int32
	}
	root := &tmp{}
	nodes := make([]*tmp, len(paths))
	r := &reader{paths: paths, rest: make([]filter.Path, len(paths))}
	for i, pi := range paths {
		p := pi.path
		if !treeable(p) {
			continue
		}
		n := root
		j := 0
		for ; j < len(p) && j < rawjson.MaxCollectDepth && !p[j].Len; j++ {
			k := p[j].Key
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
		nodes[i], r.rest[i] = n, p[j:]
		r.depthMax = max(r.depthMax, j)
	}
	var walk func(n *tmp, parent, depth int32)
	walk = func(n *tmp, parent, depth int32) {
		n.id = int32(len(r.parent))
		r.parent = append(r.parent, parent)
		r.depth = append(r.depth, depth)
		r.end = append(r.end, 0)
		r.kids = append(r.kids, keytable.Table{})
		for _, k := range n.keys {
			walk(n.kids[k], n.id, depth+1)
		}
		r.end[n.id] = int32(len(r.parent))
		ids := make([]int32, len(n.keys))
		for i, k := range n.keys {
			ids[i] = n.kids[k].id
		}
		r.kids[n.id] = keytable.New(n.keys, ids)
	}
	walk(root, -1, 0)
	r.node = make([]int32, len(paths))
	for i := range paths {
		r.node[i] = -1
		if nodes[i] != nil {
			r.node[i] = nodes[i].id
		}
	}
	return r
}

// treeable: every key of p is valid UTF-8 without U+FFFD, so a raw key
// matches it exactly when it, or its unescaped text, is the key (as
// rawjson.Member matches keys).
func treeable(p filter.Path) bool {
	for _, st := range p {
		if !utf8.ValidString(st.Key) || strings.ContainsRune(st.Key, utf8.RuneError) {
			return false
		}
	}
	return true
}

// reading is one contact's members on a reader's tree: the Collector of
// the pass.
type reading struct {
	r     *reader
	none  bool // no contact: every path missing
	doc   string
	raw   []string
	found []bool
}

func (r *reader) newReading() *reading {
	n := len(r.parent)
	return &reading{r: r, raw: make([]string, n), found: make([]bool, n)}
}

// read takes raw's members; raw is a valid JSON object (nil: none, every
// path missing).
func (c *reading) read(raw []byte) {
	clear(c.found)
	c.doc, c.none = rawString(raw), raw == nil
	if c.none {
		return
	}
	c.raw[0], c.found[0] = c.doc, true
	if c.r.depthMax > 0 {
		_ = rawjson.ValidateCollect(raw, c, c.r.depthMax) // validated when it was indexed
	}
}

// reset drops the references into the contact.
func (c *reading) reset() {
	clear(c.raw)
	c.doc = ""
}

// Member is the Collector's: the node of a member, or -1.
func (c *reading) Member(parent int32, rawKey string) int32 {
	kids := &c.r.kids[parent]
	n := kids.Find(rawKey)
	if n < 0 && !kids.Empty() && strings.IndexByte(rawKey, '\\') >= 0 {
		n = kids.Find(rawjson.Key(rawKey))
	}
	if n < 0 {
		return -1
	}
	// a repeated key: what an earlier value held is gone
	clear(c.found[n+1 : c.r.end[n]])
	return n
}

// Value is the Collector's: a member's raw value.
func (c *reading) Value(node int32, raw string) {
	c.raw[node], c.found[node] = raw, true
}

// source is where path i's value is read: missing when a key on its way
// is; else from the deepest node whose every ancestor holds an object, or
// from the first that does not, rest being the steps after it.
func (c *reading) source(i int) (from int32, rest filter.Path, missing bool) {
	r := c.r
	n := r.node[i]
	from = n
	for a := n; a > 0; a = r.parent[a] {
		switch {
		case !c.found[a]:
			missing = true
		case a != n && !isObject(c.raw[a]):
			from, missing = a, false
		}
	}
	if from == n {
		return n, r.rest[i], missing
	}
	return from, r.paths[i].path[r.depth[from]:], missing
}

func isObject(raw string) bool {
	raw = rawjson.Trim(raw)
	return raw != "" && raw[0] == '{'
}

// value is path i's value.
func (c *reading) value(i int) operators.Value {
	switch {
	case c.none:
		return operators.MissingValue
	case c.r.node[i] < 0:
		return operators.GetRaw(c.doc, c.r.paths[i].path)
	}
	from, rest, missing := c.source(i)
	switch {
	case missing:
		return operators.MissingValue
	case len(rest) == 0:
		return operators.OfRaw(c.raw[from])
	}
	return operators.GetRaw(c.raw[from], rest)
}

// same reports whether path i reads the same text in both readings (so
// the same value).
func same(a, b *reading, i int) bool {
	if a.none || b.none || a.r.node[i] < 0 {
		return a.none && b.none
	}
	fa, _, ma := a.source(i)
	fb, _, mb := b.source(i)
	if ma || mb {
		return ma && mb
	}
	return fa == fb && a.raw[fa] == b.raw[fb]
}
