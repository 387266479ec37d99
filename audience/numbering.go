package audience

import (
	"github.com/RoaringBitmap/roaring/v2"
)

// numbering is what the contacts' numbers name. Numbers are given in the
// order contacts are first upserted (a removed id upserted again gets a
// new one: it comes last, as in the server's store), and a number is not
// given twice: a set taken before a removal still names its members by
// it (Query). The numbers of removed contacts are reclaimed by
// renumbering, once they outnumber the live contacts (and minDead): the
// live contacts get 0, 1, ... in their order, and the numbering of
// before is frozen for the sets taken under it, with where each of its
// contacts went (moved).
type numbering struct {
	// byID is the live contacts' numbers (the index's byID while this
	// numbering is current), gone the last number of each removed id,
	// prev the number an id had before it was removed and upserted again
	// (by its new number): a set's Contains finds every number the id has
	// had, so it agrees with the set's IDs.
	byID map[string]uint32
	gone map[string]uint32
	prev map[uint32]uint32
	// Once renumbered: next is the numbering after, moved each number's
	// number in it (+1; 0: the contact was removed before).
	next  *numbering
	moved []uint32
}

func newNumbering() *numbering {
	return &numbering{byID: map[string]uint32{}, gone: map[string]uint32{}, prev: map[uint32]uint32{}}
}

// numbers calls fn with each number id has had in this numbering, the
// latest first, until fn returns false. Callers hold ix.mu for reading
// (or the numbering is frozen).
func (nb *numbering) numbers(id string, fn func(uint32) bool) {
	n, ok := nb.byID[id]
	if !ok {
		n, ok = nb.gone[id]
	}
	for ok && fn(n) {
		n, ok = nb.prev[n]
	}
}

// minDead: removed contacts' numbers kept before renumbering, whatever
// the number of live contacts (tests lower it).
var minDead = 1 << 12

// maybeRenumber renumbers once the removed contacts' numbers outnumber
// max(minDead, the live contacts). Callers hold wmu and ix.mu for
// writing.
func (ix *Index) maybeRenumber() {
	live := len(ix.byID)
	if len(ix.ids)-live <= max(minDead, live) {
		return
	}
	ix.renumber()
}

// renumber gives the live contacts the numbers 0, 1, ... in their order,
// and brings along what is kept by number: the raws, the segments'
// members and rows (caught up first), the live set. The field index's
// paths are dropped (indexed again by the next query needing them, as
// when too many contacts changed). Callers hold wmu and ix.mu for
// writing.
func (ix *Index) renumber() {
	old := ix.num
	nu := newNumbering()
	live := len(ix.byID)
	ids := make([]string, 0, live)
	raws := make([][]byte, 0, live)
	moved := make([]uint32, len(ix.ids))
	it := ix.live.Iterator()
	for it.HasNext() {
		n := it.Next()
		m := uint32(len(ids))
		moved[n] = m + 1
		ids = append(ids, ix.ids[n])
		raws = append(raws, ix.raws[n])
		nu.byID[ix.ids[n]] = m
	}
	r := ix.reg
	r.applyPending()
	r.behind.Store(false)
	for i, bm := range r.members {
		r.members[i] = remap(bm, moved)
	}
	r.bits, r.pendSet = nil, nil
	r.pack(nil)
	ix.fields.drop()
	ix.fields.pendSet = nil
	old.next, old.moved = nu, moved
	ix.num, ix.byID, ix.ids, ix.raws = nu, nu.byID, ids, raws
	ix.live = roaring.New()
	ix.live.AddRange(0, uint64(live))
	ix.renumbers++
}

// remap is bm's contacts by their numbers after a renumbering (moved),
// those removed before left out.
func remap(bm *roaring.Bitmap, moved []uint32) *roaring.Bitmap {
	out := roaring.New()
	it := bm.Iterator()
	for it.HasNext() {
		if m := moved[it.Next()]; m != 0 {
			out.Add(m - 1)
		}
	}
	return out
}

// translate is bm, a set numbered by from, numbered by to (a numbering
// after from, or from itself): the contacts removed before a renumbering
// between them are left out.
func translate(bm *roaring.Bitmap, from, to *numbering) *roaring.Bitmap {
	for ; from != to && from.next != nil; from = from.next {
		bm = remap(bm, from.moved)
	}
	return bm
}

// after reports whether nb comes after b (or is b).
func (nb *numbering) after(b *numbering) bool {
	for ; b != nil; b = b.next {
		if b == nb {
			return true
		}
	}
	return false
}
