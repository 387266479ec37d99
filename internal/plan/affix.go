package plan

import "slices"

// affixes are the prefixes (or suffixes) the starts_with (ends_with)
// conditions on a field look for, as a trie of bytes (a suffix read from
// its end): a contact's value walks it once, byte by byte, marking the
// conditions at each node it reaches, and stops at the first byte no
// affix continues with. A lookup per distinct affix length had cost a
// hash and a comparison each, several per value.
type affixes struct {
	build map[string][]int32 // while the index is built
	nodes []affixNode        // nodes[0] is the empty affix
}

// affixNode is a trie node: the conditions whose affix ends here and its
// children, by byte (a table of all 256 once it has more than a few, so
// that no value costs more than a step a byte however the segments were
// written).
type affixNode struct {
	ids   []int32
	bytes []byte
	kids  []int32
	table *[256]int32 // 0: no child (the root is no one's child)
}

const affixScan = 8 // children scanned before a node gets a table

func (a *affixes) add(s string, id int32) {
	if a.build == nil {
		a.build = map[string][]int32{}
	}
	a.build[s] = appendOnce(a.build[s], id)
}

// freeze builds the trie (suffix: of the affixes read backwards).
func (a *affixes) freeze(suffix bool) {
	if a.build == nil {
		return
	}
	keys := make([]string, 0, len(a.build))
	for k := range a.build {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	a.nodes = []affixNode{{}}
	for _, k := range keys {
		n := int32(0)
		for i := range len(k) {
			c := k[i]
			if suffix {
				c = k[len(k)-1-i]
			}
			next := a.child(n, c)
			if next == 0 {
				next = int32(len(a.nodes))
				a.nodes = append(a.nodes, affixNode{})
				nd := &a.nodes[n]
				nd.bytes, nd.kids = append(nd.bytes, c), append(nd.kids, next)
			}
			n = next
		}
		a.nodes[n].ids = a.build[k]
	}
	for i := range a.nodes {
		if nd := &a.nodes[i]; len(nd.bytes) > affixScan {
			nd.table = new([256]int32)
			for j, c := range nd.bytes {
				nd.table[c] = nd.kids[j]
			}
		}
	}
	a.build = nil
}

// child is node n's child by byte c, 0 for none.
func (a *affixes) child(n int32, c byte) int32 {
	nd := &a.nodes[n]
	if nd.table != nil {
		return nd.table[c]
	}
	for j, b := range nd.bytes {
		if b == c {
			return nd.kids[j]
		}
	}
	return 0
}

// mark marks the conditions whose affix s has: its prefixes (suffix
// false) or its suffixes.
func (a *affixes) mark(s string, suffix bool, memo []uint8) {
	if a.nodes == nil {
		return
	}
	mark(a.nodes[0].ids, memo)
	n := int32(0)
	for i := range len(s) {
		c := s[i]
		if suffix {
			c = s[len(s)-1-i]
		}
		if n = a.child(n, c); n == 0 {
			return
		}
		mark(a.nodes[n].ids, memo)
	}
}
