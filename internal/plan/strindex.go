package plan

import (
	"slices"

	"github.com/segmatch/segmatch/internal/keytable"
)

// strIndex is a field index's table from a string (a value or an array
// element) to the conditions it satisfies, built once and read for every
// contact: a keytable (one slot and one comparison for most fields'
// values; a seeded probe where a segment's author could otherwise make
// them collide) over the lists.
type strIndex struct {
	keys  keytable.Table
	lists [][]int32
}

// newStrIndex freezes m.
func newStrIndex(m map[string][]int32) strIndex {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	x := strIndex{lists: make([][]int32, len(keys))}
	nodes := make([]int32, len(keys))
	for i, k := range keys {
		nodes[i], x.lists[i] = int32(i), m[k]
	}
	x.keys = keytable.New(keys, nodes)
	return x
}

// get is the conditions s satisfies (nil for none).
func (x *strIndex) get(s string) []int32 {
	if n := x.keys.Find(s); n >= 0 {
		return x.lists[n]
	}
	return nil
}
