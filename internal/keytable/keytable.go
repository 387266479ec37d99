// Package keytable maps a fixed set of strings to numbers, for lookups
// made once per contact and key or value: the readers that walk a JSON
// object against a tree of wanted keys (internal/plan's segments,
// audience's indexed paths) and the plan's field indexes (a value to the
// conditions it satisfies).
//
// The keys come from segments, which anyone may write, so they must not
// be able to make lookups slow. Most key sets are told apart by their
// length and three of their bytes: the table then finds a multiplier
// under which each key has a slot of its own (a perfect hash) and a
// lookup is one slot and one comparison, with no loop and no branch on
// the length. Other sets are probed over a hash of every byte, seeded at
// random per table, so that no one can choose keys that collide.
package keytable

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"unsafe"
)

// Table maps keys to numbers (node numbers, or positions of the caller's
// lists).
type Table struct {
	keys  []string
	nodes []int32 // -1: empty
	mask  uint32
	// direct: the keys have distinct slots under quick (mult, shift)
	direct bool
	mult   uint32
	shift  uint8
	seed   uint64 // probed tables
}

// New builds the table of keys[i] -> nodes[i] (nodes >= 0; keys
// distinct).
func New(keys []string, nodes []int32) Table {
	if len(keys) == 0 {
		return Table{}
	}
	size := uint32(4)
	for size < uint32(2*len(keys)) {
		size *= 2
	}
	order := make([]int, len(keys)) // the same layout for the same keys (and seed)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case keys[a] < keys[b]:
			return -1
		case keys[a] > keys[b]:
			return 1
		}
		return 0
	})
	if t, ok := direct(keys, nodes, order, size); ok {
		return t
	}
	t := Table{keys: make([]string, size), nodes: empty(size), mask: size - 1,
		seed: maphash.Comparable(maphash.MakeSeed(), 0) | 1}
	for _, i := range order {
		j := uint32(t.hash(keys[i])) & t.mask
		for t.nodes[j] >= 0 {
			j = (j + 1) & t.mask
		}
		t.keys[j], t.nodes[j] = keys[i], nodes[i]
	}
	return t
}

func empty(size uint32) []int32 {
	n := make([]int32, size)
	for i := range n {
		n[i] = -1
	}
	return n
}

// direct finds a multiplier under which quick gives every key its own
// slot, in a table of size slots or up to four times more; ok false when
// none of the few tried does.
func direct(keys []string, nodes []int32, order []int, size uint32) (Table, bool) {
	if size > 1<<12 {
		return Table{}, false
	}
	mults := [...]uint32{0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f, 0x165667b1, 0xd3a2646c, 0xfd7046c5, 0xb55a4f09}
	for n := size; n <= 4*size; n *= 2 {
		shift := uint8(32 - bits.TrailingZeros32(n))
	mults:
		for _, mult := range mults {
			t := Table{direct: true, mult: mult, shift: shift, keys: make([]string, n), nodes: empty(n), mask: n - 1}
			for _, i := range order {
				j := t.quick(keys[i])
				if t.nodes[j] >= 0 {
					continue mults
				}
				t.keys[j], t.nodes[j] = keys[i], nodes[i]
			}
			return t, true
		}
	}
	return Table{}, false
}

// Empty reports whether the table has no key.
func (t *Table) Empty() bool { return t.mask == 0 }

// Find is the number of key k, or -1.
func (t *Table) Find(k string) int32 {
	if t.direct {
		if j := t.quick(k); same(t.keys[j], k) {
			return t.nodes[j]
		}
		return -1
	}
	if t.mask == 0 {
		return -1
	}
	for j := uint32(t.hash(k)) & t.mask; ; j = (j + 1) & t.mask {
		n := t.nodes[j]
		if n < 0 || same(t.keys[j], k) {
			return n
		}
	}
}

// quick is a direct table's slot of k: its length and three of its
// bytes, multiplied and shifted.
func (t *Table) quick(k string) uint32 {
	var a, b, c uint32
	if n := len(k); n > 0 {
		a, b, c = uint32(k[0]), uint32(k[n>>1]), uint32(k[n-1])
	}
	h := uint32(len(k))*0x9e3779b1 ^ a<<24 ^ b<<16 ^ c<<8 ^ a*0x85ebca6b ^ c*0xc2b2ae35
	return (h * t.mult) >> t.shift
}

// hash mixes every byte of k with the table's random seed (the
// multiply-fold of wyhash), eight at a time, then the last one to seven
// in two overlapping loads (the length is mixed in first).
func (t *Table) hash(k string) uint64 {
	const m1, m2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	h := t.seed ^ uint64(len(k))*m1
	p := unsafe.Pointer(unsafe.StringData(k))
	n, i := len(k), 0 // an offset, not a pointer: one past the end would be invalid
	for ; n-i >= 8; i += 8 {
		h = fold(h^*(*uint64)(unsafe.Add(p, i)), m2)
	}
	switch r := n - i; {
	case r >= 4:
		w := uint64(*(*uint32)(unsafe.Add(p, i)))<<32 | uint64(*(*uint32)(unsafe.Add(p, n-4)))
		h = fold(h^w, m2)
	case r > 0:
		w := uint64(*(*byte)(unsafe.Add(p, i)))<<16 | uint64(*(*byte)(unsafe.Add(p, i+r>>1)))<<8 | uint64(*(*byte)(unsafe.Add(p, n-1)))
		h = fold(h^w, m2)
	}
	return fold(h, m1)
}

// same is a == b, inline for the short strings keys and values are: two
// overlapping loads a side up to 16 bytes (the runtime's comparison is a
// call, then a loop dispatching on the length).
func same(a, b string) bool {
	n := len(a)
	if n != len(b) {
		return false
	}
	if n < 4 || n > 16 {
		return a == b
	}
	pa, pb := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
	if n >= 8 {
		return *(*uint64)(pa) == *(*uint64)(pb) && *(*uint64)(unsafe.Add(pa, n-8)) == *(*uint64)(unsafe.Add(pb, n-8))
	}
	return *(*uint32)(pa) == *(*uint32)(pb) && *(*uint32)(unsafe.Add(pa, n-4)) == *(*uint32)(unsafe.Add(pb, n-4))
}

func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
