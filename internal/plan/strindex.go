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
	// direct: the keys have distinct slots under quick (mult, shift), so a
	// lookup is one slot and one comparison (the common case: a field's
	// values differ in length or in their first, middle or last byte)
	direct bool
	mult   uint32
	shift  uint8
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
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same layout for the same segments (with the seed)
	if x, ok := directIndex(keys, m, size); ok {
		return x
	}
	x := strIndex{seed: maphash.Comparable(maphash.MakeSeed(), 0) | 1, slots: make([]strSlot, size), mask: uint64(size - 1)}
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
	if x.direct {
		if sl := &x.slots[x.quick(s)]; sl.key == s {
			return sl.ids
		}
		return nil
	}
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

// quick is a direct index's slot of s: its length and three of its bytes,
// multiplied and shifted (no loop, no branch on the length).
func (x *strIndex) quick(s string) uint32 {
	var a, b, c uint32
	if n := len(s); n > 0 {
		a, b, c = uint32(s[0]), uint32(s[n>>1]), uint32(s[n-1])
	}
	k := uint32(len(s))*0x9e3779b1 ^ a<<24 ^ b<<16 ^ c<<8 ^ a*0x85ebca6b ^ c*0xc2b2ae35
	return (k * x.mult) >> x.shift
}

// directIndex finds a multiplier under which quick gives every key its
// own slot, in a table of size slots or up to four times more; ok is
// false when none of the few tried does.
func directIndex(keys []string, m map[string][]int32, size int) (strIndex, bool) {
	if size > 1<<12 {
		return strIndex{}, false
	}
	mults := []uint32{0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f, 0x165667b1, 0xd3a2646c, 0xfd7046c5, 0xb55a4f09}
	for n := size; n <= 4*size; n *= 2 {
		bitsN := uint8(bits.TrailingZeros(uint(n)))
		for _, mult := range mults {
			x := strIndex{direct: true, mult: mult, shift: 32 - bitsN, slots: make([]strSlot, n), mask: uint64(n - 1)}
			ok := true
			for _, k := range keys {
				sl := &x.slots[x.quick(k)]
				if sl.ids != nil {
					ok = false
					break
				}
				*sl = strSlot{key: k, ids: m[k]}
			}
			if ok {
				return x, true
			}
		}
	}
	return strIndex{}, false
}
