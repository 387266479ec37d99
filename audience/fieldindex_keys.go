package audience

import (
	"cmp"
	"slices"
	"strings"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// posting is the contacts holding one value at one path: a single
// contact inline (most values of a high-cardinality field, an email or an
// id, are held once, and a bitmap costs some 150 bytes), more in a bitmap.
type posting struct {
	bm  *roaring.Bitmap // nil: the contact one alone
	one uint32
}

// postings is a value -> contacts table whose keys are also kept in order
// (for ranges and prefixes).
type postings[K cmp.Ordered] struct {
	m    map[K]posting
	keys sortedKeys[K]
}

func newPostings[K cmp.Ordered]() postings[K] { return postings[K]{m: map[K]posting{}} }

// add records that contact n holds k; isNew reports a key the table did
// not hold.
func (ps *postings[K]) add(k K, n uint32, bulk bool) (isNew bool) {
	p, ok := ps.m[k]
	switch {
	case !ok:
		k = ownKey(k) // a key outlives the contact it was read from
		ps.m[k] = posting{one: n}
		if !bulk {
			ps.keys.insert(k, posting{one: n}, ps.get)
		}
		return true
	case p.bm == nil:
		if p.one != n {
			np := posting{bm: roaring.BitmapOf(p.one, n)}
			ps.m[ownKey(k)] = np
			if !bulk {
				ps.keys.set(k, np)
			}
		}
	default:
		p.bm.Add(n)
	}
	return false
}

// remove drops contact n from k's contacts; gone reports that k is no
// longer held by anyone. A contact that does not hold k changes nothing
// (an array may hold a value twice: it is removed once).
func (ps *postings[K]) remove(k K, n uint32) (gone bool) {
	p, ok := ps.m[k]
	if !ok {
		return false
	}
	if p.bm == nil {
		if p.one != n {
			return false
		}
		delete(ps.m, k)
		ps.keys.remove(k, ps.get)
		return true
	}
	p.bm.Remove(n)
	switch p.bm.GetCardinality() {
	case 0:
		delete(ps.m, k)
		ps.keys.remove(k, ps.get)
		return true
	case 1:
		np := posting{one: p.bm.Minimum()}
		ps.m[ownKey(k)] = np
		ps.keys.set(k, np)
	}
	return false
}

// ownKey is k, a string copied: assigning to a map's existing string key
// stores the key given, and k may be a view of a contact's JSON, which
// the table must not keep alive.
func ownKey[K cmp.Ordered](k K) K {
	if s, ok := any(k).(string); ok {
		return any(strings.Clone(s)).(K)
	}
	return k
}

func (ps *postings[K]) has(k K) bool { _, ok := ps.m[k]; return ok }

func (ps *postings[K]) get(k K) (posting, bool) { p, ok := ps.m[k]; return p, ok }

// rangeInto adds the contacts of every key in [lo, hi]: the sorted keys'
// postings read in order beside them (no lookup), the pending ones looked
// up (a repeated one twice, which a union does not mind).
func (ps *postings[K]) rangeInto(u *union, lo, hi bound[K]) {
	i, j := ps.keys.span(lo, hi)
	j = max(i, j) // bounds that cross: none (between refuses them when compiled; the key tests make them)
	dead, vals := ps.keys.dead[i:j], ps.keys.vals[i:j]
	for x := range vals {
		if !dead[x] {
			u.posting(vals[x])
		}
	}
	for _, k := range ps.keys.pending {
		if lo.above(k) && hi.below(k) {
			if p, ok := ps.m[k]; ok {
				u.posting(p)
			}
		}
	}
}

// outsideInto adds the contacts of every key not in [lo, hi].
func (ps *postings[K]) outsideInto(u *union, lo, hi bound[K]) {
	i, j := ps.keys.span(lo, hi)
	j = max(i, j)
	for _, r := range [2][2]int{{0, i}, {j, len(ps.keys.keys)}} {
		dead, vals := ps.keys.dead[r[0]:r[1]], ps.keys.vals[r[0]:r[1]]
		for x := range vals {
			if !dead[x] {
				u.posting(vals[x])
			}
		}
	}
	for _, k := range ps.keys.pending {
		if !(lo.above(k) && hi.below(k)) {
			if p, ok := ps.m[k]; ok {
				u.posting(p)
			}
		}
	}
}

// sortAll rebuilds the key order from the table (after a bulk build).
func (ps *postings[K]) sortAll() {
	keys := make([]K, 0, len(ps.m))
	for k := range ps.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]posting, len(keys))
	for i, k := range keys {
		vals[i] = ps.m[k]
	}
	if ks, ok := any(keys).([]string); ok && packStrings(ks) {
		for i, k := range keys {
			ps.m[k] = vals[i] // the key stored is k, the packed copy
		}
	}
	ps.keys = sortedKeys[K]{keys: keys, vals: vals, dead: make([]bool, len(keys))}
}

// packStrings makes keys views of one string holding them all in order,
// so that a walk of the sorted keys reads memory in order rather than a
// string allocated apart for each (a cache miss a key, most of the cost
// of testing every distinct value). A key deleted later keeps its bytes
// until the path is built again. It reports whether it packed.
func packStrings(keys []string) bool {
	if len(keys) < 2 {
		return false
	}
	total := 0
	for _, k := range keys {
		total += len(k)
	}
	buf := make([]byte, 0, total)
	for _, k := range keys {
		buf = append(buf, k...)
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf)) // never changed from here on
	off := 0
	for i, k := range keys {
		keys[i] = all[off : off+len(k)]
		off += len(k)
	}
	return true
}

// eachLive calls fn for every key and its posting, the sorted keys in
// order, then the pending ones (each once: a pending key is not a live
// sorted one, and the table is asked whether it is still held, once).
func (ps *postings[K]) eachLive(fn func(k K, p posting)) {
	dead, vals := ps.keys.dead, ps.keys.vals
	for i, k := range ps.keys.keys {
		if !dead[i] {
			fn(k, vals[i])
		}
	}
	if len(ps.keys.pending) == 0 {
		return
	}
	seen := make(map[K]bool, len(ps.keys.pending))
	for _, k := range ps.keys.pending {
		if p, ok := ps.m[k]; ok && !seen[k] {
			seen[k] = true
			fn(k, p)
		}
	}
}

// sortedKeys keeps a table's keys in order under inserts and deletes
// without moving the whole slice each time: keys is sorted and distinct,
// a deleted one marked dead until the next merge (and live again when it
// comes back); pending holds keys added since the last merge, unsorted,
// and may hold deleted keys and repeats. A merge happens when pending
// outgrows an eighth of keys (or the dead a half), so an insert or a
// delete costs a binary search and O(1) amortized, and a range reads at
// most n/8 pending keys beside its binary search. vals holds each live
// sorted key's posting as the table does (kept equal by set), so that a
// range reads them in order without a lookup; pending keys are looked up
// in the table, and a reader may see a pending one twice.
type sortedKeys[K cmp.Ordered] struct {
	keys    []K
	vals    []posting // per key: its posting (stale when dead)
	dead    []bool    // per key
	nDead   int
	pending []K
	gone    int // pending keys deleted
}

// insert adds k, a key new to the table, with its posting p (get reads
// the table, k included).
func (s *sortedKeys[K]) insert(k K, p posting, get func(K) (posting, bool)) {
	i, found := slices.BinarySearch(s.keys, k)
	switch {
	case found: // dead: live again
		s.dead[i] = false
		s.vals[i] = p
		s.nDead--
	case i == len(s.keys) && len(s.pending) == 0:
		s.keys = append(s.keys, k)
		s.vals = append(s.vals, p)
		s.dead = append(s.dead, false)
	default:
		s.pending = append(s.pending, k)
		if len(s.pending) > 32+len(s.keys)/8 {
			s.merge(get)
		}
	}
}

// set records p as the posting of k, a key of the table (a pending key's
// is read from the table).
func (s *sortedKeys[K]) set(k K, p posting) {
	if i, found := slices.BinarySearch(s.keys, k); found {
		s.vals[i] = p
	}
}

// span is the sorted keys [i, j) in [lo, hi] (dead ones included; j < i
// for an empty range whose bounds cross).
func (s *sortedKeys[K]) span(lo, hi bound[K]) (i, j int) {
	i, j = 0, len(s.keys)
	if lo.set {
		i, _ = slices.BinarySearch(s.keys, lo.k)
		for i < len(s.keys) && !lo.above(s.keys[i]) {
			i++
		}
	}
	if hi.set {
		j, _ = slices.BinarySearch(s.keys, hi.k)
		for j < len(s.keys) && hi.below(s.keys[j]) {
			j++
		}
	}
	return i, j
}

// remove forgets k, a key just deleted from the table.
func (s *sortedKeys[K]) remove(k K, get func(K) (posting, bool)) {
	if i, found := slices.BinarySearch(s.keys, k); found {
		s.dead[i] = true
		s.nDead++
	} else {
		s.gone++ // pending: the merge drops it
	}
	if s.nDead+s.gone > 32+len(s.keys)/2 {
		s.merge(get)
	}
}

// merge sorts pending into keys, dropping the dead, the deleted and
// repeats.
func (s *sortedKeys[K]) merge(get func(K) (posting, bool)) {
	slices.Sort(s.pending)
	out := make([]K, 0, len(s.keys)-s.nDead+len(s.pending))
	vals := make([]posting, 0, cap(out))
	i, j := 0, 0
	for i < len(s.keys) || j < len(s.pending) {
		if j == len(s.pending) || (i < len(s.keys) && cmp.Less(s.keys[i], s.pending[j])) {
			if !s.dead[i] {
				out = append(out, s.keys[i])
				vals = append(vals, s.vals[i])
			}
			i++
			continue
		}
		k := s.pending[j]
		j++
		if len(out) > 0 && out[len(out)-1] == k {
			continue
		}
		p, ok := get(k)
		if !ok {
			continue
		}
		out = append(out, k)
		vals = append(vals, p)
	}
	s.keys, s.vals, s.dead, s.nDead, s.pending, s.gone = out, vals, make([]bool, len(out)), 0, nil, 0
}

// bound is one end of a key range.
type bound[K cmp.Ordered] struct {
	set       bool // false: unbounded
	k         K
	inclusive bool
}

func (b bound[K]) above(k K) bool { // k is above the lower bound b
	if !b.set {
		return true
	}
	c := cmp.Compare(k, b.k)
	return c > 0 || c == 0 && b.inclusive
}

func (b bound[K]) below(k K) bool { // k is below the upper bound b
	if !b.set {
		return true
	}
	c := cmp.Compare(k, b.k)
	return c < 0 || c == 0 && b.inclusive
}

// each calls fn for every key in [lo, hi] (as the bounds say), some
// deleted ones included: the caller looks each up.
func (s *sortedKeys[K]) each(lo, hi bound[K], fn func(K)) {
	i := 0
	if lo.set {
		i, _ = slices.BinarySearch(s.keys, lo.k)
	}
	for ; i < len(s.keys); i++ {
		k := s.keys[i]
		if !lo.above(k) || s.dead[i] {
			continue
		}
		if !hi.below(k) {
			break
		}
		fn(k)
	}
	for _, k := range s.pending {
		if lo.above(k) && hi.below(k) {
			fn(k)
		}
	}
}

// outside calls fn for every key not in [lo, hi], some deleted ones
// included.
func (s *sortedKeys[K]) outside(lo, hi bound[K], fn func(K)) {
	if lo.set {
		s.each(bound[K]{}, bound[K]{set: true, k: lo.k, inclusive: !lo.inclusive}, fn)
	}
	if hi.set {
		s.each(bound[K]{set: true, k: hi.k, inclusive: !hi.inclusive}, bound[K]{}, func(k K) {
			if lo.above(k) { // not read below lo already (an empty range)
				fn(k)
			}
		})
	}
}

// count estimates the number of keys in [lo, hi] (dead ones included).
func (s *sortedKeys[K]) count(lo, hi bound[K]) int {
	i, j := s.span(lo, hi)
	n := max(j-i, 0)
	for _, k := range s.pending {
		if lo.above(k) && hi.below(k) {
			n++
		}
	}
	return n
}

// union gathers bitmaps and single contacts and ORs them once; or, when
// it is a complement, the contacts of a bitmap less those gathered.
type union struct {
	bms  []*roaring.Bitmap
	ones []uint32
	// of, when set: the union is of less the rest (complement).
	of   *roaring.Bitmap
	less *union
}

func (u *union) posting(p posting) {
	if p.bm == nil {
		u.ones = append(u.ones, p.one)
	} else {
		u.bms = append(u.bms, p.bm)
	}
}

// postingAnd adds the contacts of p that are also in b.
func (u *union) postingAnd(p posting, b *roaring.Bitmap) {
	if p.bm == nil {
		if b.Contains(p.one) {
			u.ones = append(u.ones, p.one)
		}
		return
	}
	u.bms = append(u.bms, roaring.And(p.bm, b))
}

func (u *union) bitmap(b *roaring.Bitmap) { u.bms = append(u.bms, b) }

// complement adds the contacts of of that out does not hold.
func (u *union) complement(of *roaring.Bitmap, out union) {
	if u.of == nil && len(u.bms) == 0 && len(u.ones) == 0 {
		u.of, u.less = of, &out
		return
	}
	u.bms = append(u.bms, roaring.AndNot(of, out.result(universeOf(of))))
}

// universeOf bounds the numbers of a bitmap's contacts.
func universeOf(b *roaring.Bitmap) uint32 {
	if b.IsEmpty() {
		return 0
	}
	return b.Maximum() + 1
}

// smallPosting: a bitmap of fewer contacts is ORed value by value (many
// small bitmaps ORed pairwise cost the square of their number).
const smallPosting = 256

// denseFrom: from this many contacts on (and one in 64 of the universe), a
// union of small parts is built as a dense bitset.
var denseFrom uint64 = 4096

// result is the union, which the caller only reads (it may be one of the
// index's bitmaps); universe bounds the contacts' numbers.
func (u *union) result(universe uint32) *roaring.Bitmap {
	if u.of != nil {
		if len(u.bms) > 0 || len(u.ones) > 0 { // more was added after the complement
			rest := union{bms: append(u.bms, roaring.AndNot(u.of, u.less.result(universe))), ones: u.ones}
			return rest.result(universe)
		}
		return roaring.AndNot(u.of, u.less.result(universe))
	}
	// Each bitmap's cardinality is read once (a walk of many small
	// postings is bound by the loads of their bitmaps).
	var big, small []*roaring.Bitmap
	var bigCards, smallCards []uint64
	count, sparse := uint64(len(u.ones)), uint64(0)
	for _, b := range u.bms {
		c := b.GetCardinality()
		switch {
		case c < smallPosting:
			small, smallCards = append(small, b), append(smallCards, c)
			count += c
		case c*16 < uint64(universe): // array containers: ORed value by value into a bitset
			sparse += c
			big, bigCards = append(big, b), append(bigCards, c)
		default:
			big, bigCards = append(big, b), append(bigCards, c)
		}
	}
	if sparse > 0 && (count+sparse)*64 >= uint64(universe) && count+sparse >= denseFrom {
		var rest []*roaring.Bitmap
		for i, b := range big {
			if c := bigCards[i]; c*16 < uint64(universe) {
				small, smallCards = append(small, b), append(smallCards, c)
			} else {
				rest = append(rest, b)
			}
		}
		big, count = rest, count+sparse
	}
	if count == 0 {
		if len(big) == 1 {
			return big[0] // read-only, as the index's own
		}
		return roaring.FastOr(big...) // empty when none
	}
	var part *roaring.Bitmap
	if count >= denseFrom && count*64 >= uint64(universe) {
		// Dense: a bit per contact, set, then made a bitmap.
		words := make([]uint64, universe/64+1)
		for _, x := range u.ones {
			words[x>>6] |= 1 << (x & 63)
		}
		buf := make([]uint32, 1024)
		for i, b := range small {
			if smallCards[i] < 4096 { // array (or run) containers only: WriteDenseTo ORs them
				b.WriteDenseTo(words)
				continue
			}
			it := b.ManyIterator()
			for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
				for _, x := range buf[:n] {
					words[x>>6] |= 1 << (x & 63)
				}
			}
		}
		part = roaring.FromDense(words, false)
	} else {
		vals := slices.Grow(u.ones, int(count)-len(u.ones))
		for _, b := range small {
			vals = append(vals, b.ToArray()...)
		}
		slices.Sort(vals)
		part = roaring.BitmapOf(vals...)
	}
	if len(big) == 0 {
		return part
	}
	return roaring.FastOr(append(big, part)...)
}
