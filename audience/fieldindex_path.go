package audience

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// pathIndex is what the live contacts hold at one field path, read as the
// engine reads it (operators.GetRaw: fan-out over arrays, index steps,
// "#" lengths, the last of repeated keys): the type of each contact's
// value, and per scalar value the contacts holding it, as the value or as
// an element of an array value (docs/semantics.md rule 2; a fan-out's values are
// its elements). An element that is null, an array or an object is
// nobody's value: no scalar test reads it.
type pathIndex struct {
	path filter.Path

	built chan struct{} // closed once built (nil: no query has claimed the building yet)
	kept  bool          // built: writes are recorded for it (fieldIndex.changed); under fieldIndex.mu
	ready atomic.Bool   // built and current: queries may read it (false while behind the contacts)
	used  atomic.Int64  // the fieldIndex's clock at its last use (eviction)

	// By the type of the value (at most one each).
	null, str, num, boolean, arr, obj *roaring.Bitmap
	set                               *roaring.Bitmap // present and not null: the union of the five types
	empty                             *roaring.Bitmap // of set: "", [], {} and a fan-out reaching no value

	strs    postings[string]  // string values and elements
	nums    postings[float64] // number values and elements
	numStrs postings[float64] // strings that are decimal numbers (rule 1), by their number
	bools   [2]*roaring.Bitmap

	// folds, built on the first ignore_case query: each folded form
	// (operators.FoldString) and the strings of strs folding to it.
	foldMu sync.Mutex
	folds  map[string][]string
}

func newPathIndex(p filter.Path) *pathIndex {
	return &pathIndex{path: p,
		null: roaring.New(), str: roaring.New(), num: roaring.New(), boolean: roaring.New(),
		arr: roaring.New(), obj: roaring.New(), set: roaring.New(), empty: roaring.New(),
		strs: newPostings[string](), nums: newPostings[float64](), numStrs: newPostings[float64](),
		bools: [2]*roaring.Bitmap{roaring.New(), roaring.New()},
	}
}

// build indexes paths, reading every live contact once (the paths' values
// in one pass). Callers hold ix.mu for reading and have claimed the paths.
func build(ix *Index, paths []*pathIndex) {
	rd := newReader(paths)
	c := rd.newReading()
	it := ix.live.Iterator()
	for it.HasNext() {
		n := it.Next()
		c.read(ix.raws[n])
		for i, p := range paths {
			p.change(n, c.value(i), true, true)
		}
	}
	c.reset()
	for _, p := range paths {
		p.strs.sortAll()
		p.nums.sortAll()
		p.numStrs.sortAll()
		p.ready.Store(true) // (no RunOptimize: removing from a run container costs a rewrite)
	}
}

// bitmaps are the path's bitmaps other than the values'.
func (p *pathIndex) bitmaps() []*roaring.Bitmap {
	return []*roaring.Bitmap{p.null, p.str, p.num, p.boolean, p.arr, p.obj, p.set, p.empty,
		p.bools[0], p.bools[1]}
}

// rawString views a contact's JSON, which is never changed once kept, as
// a string without copying it.
func rawString(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	return unsafe.String(&raw[0], len(raw))
}

// change adds (add) or removes contact n, whose value at the path is v.
func (p *pathIndex) change(n uint32, v operators.Value, add, bulk bool) {
	kind := v.Kind()
	if kind == operators.Missing {
		return
	}
	var of *roaring.Bitmap
	empty := false
	switch kind {
	case operators.Null:
		of = p.null
	case operators.Bool:
		of = p.boolean
		p.boolAtom(v.Bool(), n, add)
	case operators.Number:
		of = p.num
		p.numAtom(v.Num(), n, add, bulk)
	case operators.String:
		of = p.str
		p.strAtom(v.Str(), n, add, bulk)
		empty = v.Str() == ""
	case operators.Array:
		of = p.arr
		elems := 0
		v.Any(func(e operators.Value) bool {
			elems++
			switch e.Kind() {
			case operators.String:
				p.strAtom(e.Str(), n, add, bulk)
			case operators.Number:
				p.numAtom(e.Num(), n, add, bulk)
			case operators.Bool:
				p.boolAtom(e.Bool(), n, add)
			}
			return false
		})
		empty = elems == 0
	case operators.Object:
		of = p.obj
		empty = v.Len() == 0
	}
	mark := func(b *roaring.Bitmap, yes bool) {
		switch {
		case !yes:
		case add:
			b.Add(n)
		default:
			b.Remove(n)
		}
	}
	mark(of, true)
	mark(p.set, kind != operators.Null)
	mark(p.empty, empty)
}

func (p *pathIndex) boolAtom(b bool, n uint32, add bool) {
	i := 0
	if b {
		i = 1
	}
	if add {
		p.bools[i].Add(n)
	} else {
		p.bools[i].Remove(n)
	}
}

func (p *pathIndex) numAtom(f float64, n uint32, add, bulk bool) {
	if math.IsNaN(f) { // not from JSON; no comparison holds on it
		return
	}
	if add {
		p.nums.add(f, n, bulk)
	} else {
		p.nums.remove(f, n)
	}
}

func (p *pathIndex) strAtom(s string, n uint32, add, bulk bool) {
	if add {
		if p.strs.add(s, n, bulk) && p.folds != nil {
			s = strings.Clone(s)
			f := foldShared(s)
			p.folds[f] = append(p.folds[f], s)
		}
	} else if p.strs.remove(s, n) && p.folds != nil {
		f := operators.FoldString(s)
		rest := p.folds[f]
		for i, o := range rest {
			if o == s {
				rest[i] = rest[len(rest)-1]
				rest = rest[:len(rest)-1]
				break
			}
		}
		if len(rest) == 0 {
			delete(p.folds, f)
		} else {
			p.folds[f] = rest
		}
	}
	if f, ok := operators.ParseDecimal(s); ok {
		if add {
			p.numStrs.add(f, n, bulk)
		} else {
			p.numStrs.remove(f, n)
		}
	}
}

// foldShared is s folded, sharing s's bytes when folding changes nothing.
func foldShared(s string) string {
	if f := operators.FoldString(s); f != s {
		return f
	}
	return s
}

// foldTable returns folds, building it on first use. Queries call it
// concurrently (foldMu); add and remove, which run alone, keep it current.
func (p *pathIndex) foldTable() map[string][]string {
	p.foldMu.Lock()
	defer p.foldMu.Unlock()
	if p.folds == nil {
		folds := make(map[string][]string, len(p.strs.m))
		for s := range p.strs.m {
			f := foldShared(s)
			folds[f] = append(folds[f], s)
		}
		p.folds = folds
	}
	return p.folds
}

// isNotSet is the live contacts whose value is missing or null.
func (p *pathIndex) isNotSet(live *roaring.Bitmap) *roaring.Bitmap {
	return roaring.AndNot(live, p.set)
}

// isEmpty is the live contacts whose value is missing, null, "", [] or {}.
func (p *pathIndex) isEmpty(live *roaring.Bitmap) *roaring.Bitmap {
	return roaring.AndNot(live, roaring.AndNot(p.set, p.empty))
}

// eqString adds the contacts holding s (folded: a string folding to s,
// s being folded already).
func (p *pathIndex) eqString(u *union, s string, fold bool) {
	if !fold {
		if ps, ok := p.strs.m[s]; ok {
			u.posting(ps)
		}
		return
	}
	for _, o := range p.foldTable()[s] {
		u.posting(p.strs.m[o])
	}
}

// eqNumber adds the contacts holding f, as a number or a numeric string.
func (p *pathIndex) eqNumber(u *union, f float64) {
	if ps, ok := p.nums.m[f]; ok {
		u.posting(ps)
	}
	if ps, ok := p.numStrs.m[f]; ok {
		u.posting(ps)
	}
}

// eqBool adds the contacts holding b.
func (p *pathIndex) eqBool(u *union, b bool) {
	i := 0
	if b {
		i = 1
	}
	u.bitmap(p.bools[i])
}

// numRange adds the contacts holding a number (or numeric string) in
// [lo, hi].
func (p *pathIndex) numRange(u *union, lo, hi bound[float64]) {
	tables := []*postings[float64]{&p.nums, &p.numStrs}
	in := 0
	for _, t := range tables {
		in += t.keys.count(lo, hi)
	}
	if 2*in > len(p.nums.m)+len(p.numStrs.m) && p.arr.IsEmpty() {
		// Fewer keys outside, and no arrays: each contact holds one number
		// at most, so the range is the contacts holding one (the numbers,
		// and the numeric strings) less those outside it.
		traceComplement()
		numeric := p.num
		if len(p.numStrs.m) > 0 {
			var u union
			u.bitmap(p.num)
			for _, x := range p.numStrs.m {
				u.posting(x)
			}
			numeric = u.result(universeOf(p.set))
		}
		var out union
		for _, t := range tables {
			t.outsideInto(&out, lo, hi)
		}
		u.complement(numeric, out)
		return
	}
	for _, t := range tables {
		t.rangeInto(u, lo, hi)
	}
}

// strRange adds the contacts holding a string in [lo, hi] (byte order).
func (p *pathIndex) strRange(u *union, lo, hi bound[string]) {
	if 2*p.strs.keys.count(lo, hi) > len(p.strs.m) && p.arr.IsEmpty() { // one string at most: its value
		traceComplement()
		var out union
		p.strs.outsideInto(&out, lo, hi)
		u.complement(p.str, out)
		return
	}
	p.strs.rangeInto(u, lo, hi)
}

// prefix adds the contacts holding a string that starts with pre: the
// strings from pre up to the first one above every string starting so.
func (p *pathIndex) prefix(u *union, pre string) {
	hi := bound[string]{}
	for i := len(pre) - 1; i >= 0; i-- {
		if pre[i] != 0xff {
			hi = bound[string]{set: true, k: pre[:i] + string([]byte{pre[i] + 1})}
			break
		}
	}
	p.strRange(u, bound[string]{set: true, k: pre, inclusive: true}, hi)
}

// scalar adds the contacts whose value a Scalar test passes (without its
// answer on missing or null, which the caller adds), deciding each
// distinct value once: a string value by Str, a string element by ElemStr
// (Str when nil), numbers by Num, bools by Bool. A string held both ways
// is split by the value's type.
func (p *pathIndex) scalar(u *union, sc *operators.Scalar) {
	elemStr := sc.ElemStr
	if elemStr == nil {
		elemStr = sc.Str
	}
	tops, elems := !p.str.IsEmpty(), !p.arr.IsEmpty()
	if (sc.Str != nil && tops) || (elemStr != nil && elems) {
		p.strs.eachLive(func(s string, ps posting) {
			top := tops && sc.Str != nil && sc.Str(s)
			el := elems && elemStr != nil && elemStr(s)
			switch {
			case top && (el || !elems), el && !tops:
				u.posting(ps)
			case top:
				u.postingAnd(ps, p.str)
			case el:
				u.postingAnd(ps, p.arr)
			}
		})
	}
	if sc.Num != nil {
		p.nums.eachLive(func(f float64, ps posting) {
			if sc.Num(f) {
				u.posting(ps)
			}
		})
	}
	if sc.Bool != nil {
		for i, b := range p.bools {
			if sc.Bool(i == 1) {
				u.bitmap(b)
			}
		}
	}
}

// distinct is the number of distinct values: what deciding a test on each
// costs.
func (p *pathIndex) distinct() int { return len(p.strs.m) + len(p.nums.m) + 2 }

// bytes estimates the memory the path's index holds.
func (p *pathIndex) bytes() int {
	n := 200 + len(p.path)*48
	for _, b := range p.bitmaps() {
		n += bitmapBytes(b)
	}
	const mapSlot = 1.3 // a map's slots per entry, and its control bytes
	for k, ps := range p.strs.m {
		n += len(k) + postingBytes(ps)
	}
	n += int(float64(len(p.strs.m)) * mapSlot * (16 + 16 + 1))
	for _, ps := range p.nums.m {
		n += postingBytes(ps)
	}
	for _, ps := range p.numStrs.m {
		n += postingBytes(ps)
	}
	n += int(float64(len(p.nums.m)+len(p.numStrs.m)) * mapSlot * (8 + 16 + 1))
	n += 16*(cap(p.strs.keys.keys)+cap(p.strs.keys.pending)) + 8*(cap(p.nums.keys.keys)+cap(p.nums.keys.pending)+cap(p.numStrs.keys.keys)+cap(p.numStrs.keys.pending))
	p.foldMu.Lock()
	for f, os := range p.folds {
		n += 53 + 16*cap(os) // mapSlot * (16+24+1)
		if len(os) > 0 && f != os[0] {
			n += len(f)
		}
	}
	p.foldMu.Unlock()
	return n
}

func postingBytes(ps posting) int {
	if ps.bm == nil {
		return 0
	}
	return bitmapBytes(ps.bm)
}

// bitmapBytes estimates a bitmap's memory: its serialized size (the
// containers' contents) plus the Go structures around them.
func bitmapBytes(b *roaring.Bitmap) int {
	return int(b.GetSerializedSizeInBytes()) + 80 + 48*int(b.Stats().Containers)
}
