package plan

import (
	"slices"
	"unsafe"
)

// Combining: once every condition of a contact is in the memo, a flat
// segment (conditions only, no nested group) is the AND of its literals,
// a literal being a condition's memo state, negated or not. The segments
// are laid out by number of literals so that each size runs a loop of a
// fixed trip count without a branch on the data (data-dependent
// short-circuits mispredict).

// A literal is a condition id and its negation in one word: id<<2 |
// neg<<1. XORed with the memo state (decidedFalse 0b01, decidedTrue
// 0b10) its bit 1 is the literal's truth, so ANDing a segment's literals
// and reading bit 1 decides an all-segment with one load and one XOR
// per literal.
const (
	litShift = 2
	litNeg   = 0b10
	truthBit = 0b10 // decidedTrue, and the bit combine reads
)

func literal(id int, negate bool) uint32 {
	l := uint32(id) << litShift
	if negate {
		l |= litNeg
	}
	return l
}

// segGroup is the flat segments with k literals each: segment j's are
// lits[j*k:(j+1)*k] and its verdict goes to dst[out[j]>>litShift]. In a
// mixed group, it is XORed with out[j]'s litNeg bit: an any-segment is
// stored as not(all(not ...)), so one loop decides both. The segments
// whose literals are all positive (most: negate is rare) are grouped
// apart, their literals bare condition ids, ANDed (all) or ORed (any)
// with no XOR.
type segGroup struct {
	k     int
	shape groupShape
	lits  []uint32
	out   []uint32
}

// groupShape is how a group's literals combine.
type groupShape uint8

const (
	mixedLiterals groupShape = iota // literals with their negation, any as not(all(not ...))
	allPositive                     // an all of positive literals
	anyPositive                     // an any of positive literals
)

// group lays the flat segments out by size and shape for evalAll (see
// groups).
func (s *Set) group() {
	type key struct {
		k     int
		shape groupShape
	}
	at := map[key]int{} // -> group
	for i, p := range s.packed {
		if p.root != nil {
			s.nested = append(s.nested, int32(i))
			continue
		}
		k := int(p.end - p.start)
		refs := s.refs[p.start:p.end]
		shape := mixedLiterals
		if k > 0 && !slices.ContainsFunc(refs, func(r uint32) bool { return r&1 != 0 }) {
			shape = allPositive
			if p.flags&packAny != 0 {
				shape = anyPositive
			}
		}
		g, ok := at[key{k, shape}]
		if !ok {
			g = len(s.groups)
			at[key{k, shape}] = g
			s.groups = append(s.groups, segGroup{k: k, shape: shape})
		}
		gr := &s.groups[g]
		switch {
		case shape != mixedLiterals:
			for _, ref := range refs {
				gr.lits = append(gr.lits, ref>>1)
			}
			gr.out = append(gr.out, literal(i, false))
		case p.flags&packAny == 0 || k == 0: // an empty any is true, as an empty all
			for _, ref := range refs {
				gr.lits = append(gr.lits, literal(int(ref>>1), ref&1 != 0))
			}
			gr.out = append(gr.out, literal(i, false))
		default:
			for _, ref := range refs {
				gr.lits = append(gr.lits, literal(int(ref>>1), ref&1 == 0))
			}
			gr.out = append(gr.out, literal(i, true))
		}
	}
}

// combine decides a group of segments from their conditions' memo
// (every one decided). It reads and writes through unsafe pointers, as
// the loop is the hottest of a contact's evaluation and bounds checks
// doubled it (literal ids are below the Set's condition count and outs
// below its segment count, by construction in group; evalAll checks
// that memo and dst are that long). The common sizes are unrolled.
func combine(g *segGroup, memo []uint8, dst []bool) {
	switch g.shape {
	case allPositive:
		combineAll(g, memo, dst)
		return
	case anyPositive:
		combineAny(g, memo, dst)
		return
	}
	m := unsafe.Pointer(unsafe.SliceData(memo))
	d := unsafe.Pointer(unsafe.SliceData(dst))
	p := unsafe.Pointer(unsafe.SliceData(g.lits))
	var off uintptr // of the segment's literals (a pointer past the last would be invalid)
	t := func(i uintptr) uint8 {
		l := *(*uint32)(unsafe.Add(p, off+i*4))
		return *(*uint8)(unsafe.Add(m, l>>litShift)) ^ uint8(l)
	}
	verdict := func(o uint32, v uint8) { *(*bool)(unsafe.Add(d, o>>litShift)) = (v^uint8(o))&truthBit != 0 }
	switch g.k {
	case 3:
		for _, o := range g.out {
			verdict(o, t(0)&t(1)&t(2))
			off += 3 * 4
		}
	case 4:
		for _, o := range g.out {
			verdict(o, t(0)&t(1)&t(2)&t(3))
			off += 4 * 4
		}
	case 5:
		for _, o := range g.out {
			verdict(o, t(0)&t(1)&t(2)&t(3)&t(4))
			off += 5 * 4
		}
	default:
		k := uintptr(g.k)
		for _, o := range g.out {
			v := uint8(truthBit)
			for i := range k {
				v &= t(i)
			}
			verdict(o, v)
			off += k * 4
		}
	}
}

// combineAll decides a group of alls of positive literals: the AND of
// their memo states has the truth bit when every one has. (combineAny is
// the same loop with OR: written out twice, as the operator must inline
// and a type parameter would not make it.)
func combineAll(g *segGroup, memo []uint8, dst []bool) {
	m := unsafe.Pointer(unsafe.SliceData(memo))
	d := unsafe.Pointer(unsafe.SliceData(dst))
	p := unsafe.Pointer(unsafe.SliceData(g.lits))
	var off uintptr // of the segment's literals (a pointer past the last would be invalid)
	t := func(i uintptr) uint8 { return *(*uint8)(unsafe.Add(m, *(*uint32)(unsafe.Add(p, off+i*4)))) }
	verdict := func(o uint32, v uint8) { *(*bool)(unsafe.Add(d, o>>litShift)) = v&truthBit != 0 }
	switch g.k {
	case 3:
		for _, o := range g.out {
			verdict(o, t(0)&t(1)&t(2))
			off += 3 * 4
		}
	case 4:
		for _, o := range g.out {
			verdict(o, t(0)&t(1)&t(2)&t(3))
			off += 4 * 4
		}
	case 5:
		for _, o := range g.out {
			verdict(o, t(0)&t(1)&t(2)&t(3)&t(4))
			off += 5 * 4
		}
	default:
		k := uintptr(g.k)
		for _, o := range g.out {
			v := uint8(truthBit)
			for i := range k {
				v &= t(i)
			}
			verdict(o, v)
			off += k * 4
		}
	}
}

// combineAny decides a group of anys of positive literals: the OR of
// their memo states has the truth bit when one has.
func combineAny(g *segGroup, memo []uint8, dst []bool) {
	m := unsafe.Pointer(unsafe.SliceData(memo))
	d := unsafe.Pointer(unsafe.SliceData(dst))
	p := unsafe.Pointer(unsafe.SliceData(g.lits))
	var off uintptr // of the segment's literals (a pointer past the last would be invalid)
	t := func(i uintptr) uint8 { return *(*uint8)(unsafe.Add(m, *(*uint32)(unsafe.Add(p, off+i*4)))) }
	verdict := func(o uint32, v uint8) { *(*bool)(unsafe.Add(d, o>>litShift)) = v&truthBit != 0 }
	switch g.k {
	case 3:
		for _, o := range g.out {
			verdict(o, t(0)|t(1)|t(2))
			off += 3 * 4
		}
	case 4:
		for _, o := range g.out {
			verdict(o, t(0)|t(1)|t(2)|t(3))
			off += 4 * 4
		}
	case 5:
		for _, o := range g.out {
			verdict(o, t(0)|t(1)|t(2)|t(3)|t(4))
			off += 5 * 4
		}
	default:
		k := uintptr(g.k)
		for _, o := range g.out {
			v := uint8(0)
			for i := range k {
				v |= t(i)
			}
			verdict(o, v)
			off += k * 4
		}
	}
}
