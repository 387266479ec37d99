package plan

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"unsafe"
)

// strIndex is a field index's table from a string (a value, an element,
// a prefix or suffix) to the conditions it satisfies. It is built once
// and read for every contact: open addressing over a seeded hash (a
// segment's author chooses the keys, so they must not be able to make
// them collide), the full hash compared before the string. A Go map did
// the same job at four times the cost per lookup on the short strings
// contacts hold.
type strIndex struct {
	seed  uint64
	slots []strSlot // a power of two, at most half full; nil ids: empty
	mask  uint64
}

type strSlot struct {
	hash uint64
	key  string
	ids  []int32
}

// newStrIndex freezes m.
func newStrIndex(m map[string][]int32) strIndex {
	if len(m) == 0 {
		return strIndex{}
	}
	size := 4
	for size < 2*len(m) {
		size *= 2
	}
	x := strIndex{seed: maphash.Comparable(maphash.MakeSeed(), 0) | 1, slots: make([]strSlot, size), mask: uint64(size - 1)}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same layout for the same segments (with the seed)
	for _, k := range keys {
		h := x.hash(k)
		i := h & x.mask
		for x.slots[i].ids != nil {
			i = (i + 1) & x.mask
		}
		x.slots[i] = strSlot{hash: h, key: k, ids: m[k]}
	}
	return x
}

// get is the conditions s satisfies (nil for none).
func (x *strIndex) get(s string) []int32 {
	if x.slots == nil {
		return nil
	}
	h := x.hash(s)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		sl := &x.slots[i]
		if sl.ids == nil || sl.hash == h && sl.key == s {
			return sl.ids
		}
	}
}

// hash mixes every byte of s with the table's random seed (the
// multiply-fold of wyhash), eight at a time then the tail in two loads: what maphash does, without
// its call overhead on strings of a few bytes.
func (x *strIndex) hash(s string) uint64 {
	const m1, m2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	h := x.seed ^ uint64(len(s))*m1
	p := unsafe.Pointer(unsafe.StringData(s))
	n := len(s)
	for ; n >= 8; n -= 8 {
		h = fold(h^*(*uint64)(p), m2)
		p = unsafe.Add(p, 8)
	}
	switch { // the last 1 to 7 bytes, in overlapping loads (the length is in h)
	case n >= 4:
		t := uint64(*(*uint32)(p))<<32 | uint64(*(*uint32)(unsafe.Add(p, n-4)))
		h = fold(h^t, m2)
	case n > 0:
		t := uint64(*(*byte)(p))<<16 | uint64(*(*byte)(unsafe.Add(p, n>>1)))<<8 | uint64(*(*byte)(unsafe.Add(p, n-1)))
		h = fold(h^t, m2)
	}
	return fold(h, m1)
}

func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
