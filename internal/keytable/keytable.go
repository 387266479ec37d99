// Package keytable finds a child node by its key for the readers that
// walk a JSON object against a tree of wanted keys (internal/plan's
// segments, audience's indexed paths): open addressing on a cheap hash of
// a few bytes, exact comparison deciding. The hash only spreads the few
// keys a node has; a contact's keys cannot lengthen a probe beyond the
// table's own clusters, since every lookup ends at an empty slot or at its
// key.
package keytable

// Table maps keys to node numbers.
type Table struct {
	keys  []string
	nodes []int32 // -1: empty
	mask  uint32
}

// New builds the table of keys[i] -> nodes[i].
func New(keys []string, nodes []int32) Table {
	if len(keys) == 0 {
		return Table{}
	}
	size := uint32(4)
	for size < uint32(2*len(keys)) {
		size *= 2
	}
	t := Table{keys: make([]string, size), nodes: make([]int32, size), mask: size - 1}
	for i := range t.nodes {
		t.nodes[i] = -1
	}
	for i, k := range keys {
		j := hash(k) & t.mask
		for t.nodes[j] >= 0 {
			j = (j + 1) & t.mask
		}
		t.keys[j], t.nodes[j] = k, nodes[i]
	}
	return t
}

func hash(k string) uint32 {
	h := uint32(len(k)) * 0x9e3779b1
	if len(k) > 0 {
		h ^= uint32(k[0])<<8 | uint32(k[len(k)-1])
		h ^= uint32(k[len(k)/2]) << 16
	}
	return h ^ h>>15
}

// Empty reports whether the table has no key.
func (t *Table) Empty() bool { return t.mask == 0 }

// Find is the node of key k, or -1.
func (t *Table) Find(k string) int32 {
	if t.mask == 0 {
		return -1
	}
	for j := hash(k) & t.mask; ; j = (j + 1) & t.mask {
		n := t.nodes[j]
		if n < 0 || t.keys[j] == k {
			return n
		}
	}
}
