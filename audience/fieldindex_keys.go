package audience

import (
	"cmp"
	"slices"
	"strings"

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
		ps.m[k] = posting{one: n}
		if !bulk {
			ps.keys.insert(k, ps.has)
		}
		return true
	case p.bm == nil:
		if p.one != n {
			ps.m[ownKey(k)] = posting{bm: roaring.BitmapOf(p.one, n)}
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
		ps.keys.remove(k)
		return true
	}
	p.bm.Remove(n)
	switch p.bm.GetCardinality() {
	case 0:
		delete(ps.m, k)
		ps.keys.remove(k)
		return true
	case 1:
		ps.m[ownKey(k)] = posting{one: p.bm.Minimum()}
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

// sortAll rebuilds the key order from the table (after a bulk build).
func (ps *postings[K]) sortAll() {
	keys := make([]K, 0, len(ps.m))
	for k := range ps.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ps.keys = sortedKeys[K]{keys: keys}
}

// sortedKeys keeps a table's keys in order under inserts and deletes
// without moving the whole slice each time: keys is sorted and may hold
// stale keys (deleted from the table since), pending holds keys added
// since the last merge, unsorted. A merge happens when pending outgrows
// an eighth of keys, so an insert costs O(log n) amortized and a range
// reads at most n/8 pending keys beside its binary search.
type sortedKeys[K cmp.Ordered] struct {
	keys    []K
	pending []K
	stale   int
}

// insert adds k, a key new to the table (has reports the table's keys,
// k included).
func (s *sortedKeys[K]) insert(k K, has func(K) bool) {
	if _, found := slices.BinarySearch(s.keys, k); found {
		s.stale-- // a stale key, live again
		return
	}
	if len(s.pending) == 0 && (len(s.keys) == 0 || cmp.Less(s.keys[len(s.keys)-1], k)) {
		s.keys = append(s.keys, k)
		return
	}
	s.pending = append(s.pending, k)
	if len(s.pending) > 32+len(s.keys)/8 {
		s.merge(has)
	}
}

// remove forgets k, a key just deleted from the table.
func (s *sortedKeys[K]) remove(k K) {
	if i := slices.Index(s.pending, k); i >= 0 {
		s.pending[i] = s.pending[len(s.pending)-1]
		s.pending = s.pending[:len(s.pending)-1]
		return
	}
	s.stale++
}

// merge sorts pending into keys, dropping stale keys.
func (s *sortedKeys[K]) merge(has func(K) bool) {
	slices.Sort(s.pending)
	out := make([]K, 0, len(s.keys)-s.stale+len(s.pending))
	i, j := 0, 0
	for i < len(s.keys) || j < len(s.pending) {
		var k K
		if j == len(s.pending) || (i < len(s.keys) && cmp.Less(s.keys[i], s.pending[j])) {
			k = s.keys[i]
			i++
			if !has(k) {
				continue
			}
		} else {
			k = s.pending[j]
			j++
		}
		out = append(out, k)
	}
	s.keys, s.pending, s.stale = out, nil, 0
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

// each calls fn for every key in [lo, hi] (as the bounds say), stale
// keys included: the caller looks each up.
func (s *sortedKeys[K]) each(lo, hi bound[K], fn func(K)) {
	i := 0
	if lo.set {
		i, _ = slices.BinarySearch(s.keys, lo.k)
	}
	for ; i < len(s.keys); i++ {
		k := s.keys[i]
		if !lo.above(k) {
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

// eachFrom calls fn for the keys from lo on, in order, while fn returns
// true; then for every pending key (which fn may refuse).
func (s *sortedKeys[K]) eachFrom(lo K, fn func(K) bool) {
	i, _ := slices.BinarySearch(s.keys, lo)
	for ; i < len(s.keys); i++ {
		if !fn(s.keys[i]) {
			break
		}
	}
	for _, k := range s.pending {
		if !cmp.Less(k, lo) {
			fn(k)
		}
	}
}

// union gathers bitmaps and single contacts and ORs them once.
type union struct {
	bms  []*roaring.Bitmap
	ones []uint32
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

// result is the union, a new bitmap the caller owns.
func (u *union) result() *roaring.Bitmap {
	out := roaring.FastOr(u.bms...) // a clone when there is one, empty when none
	if len(u.ones) > 0 {
		out.AddMany(u.ones)
	}
	return out
}
