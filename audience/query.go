package audience

import (
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch/filter"
)

// Query is a set of contacts: an ad-hoc segment's members (Index.Query),
// a registered segment's (Index.Segment), or a combination. It is a
// snapshot: later writes to the index do not change it (but combined
// with a set taken after the index renumbered, or paged by Slice then,
// it lacks the contacts removed before the renumbering: see the package
// doc).
type Query struct {
	ix *Index
	bm *roaring.Bitmap
	// The numbering bm is in, and the ids of its numbers when it was
	// taken (a prefix of the index's: numbers given later are not in bm).
	num *numbering
	ids []string
}

// snapshot is a set of the index's current numbering. Callers hold ix.mu
// for reading.
func (ix *Index) snapshot(bm *roaring.Bitmap) *Query {
	return &Query{ix: ix, bm: bm, num: ix.num, ids: ix.ids}
}

// combine is q and o in the later of their numberings (the contacts
// removed before a renumbering between them left out of the earlier),
// and that numbering's set.
func (q *Query) combine(o *Query, op func(a, b *roaring.Bitmap) *roaring.Bitmap) *Query {
	if q.num == o.num {
		ids := q.ids
		if len(o.ids) > len(ids) {
			ids = o.ids
		}
		return &Query{ix: q.ix, bm: op(q.bm, o.bm), num: q.num, ids: ids}
	}
	q.ix.mu.RLock()
	defer q.ix.mu.RUnlock()
	if o.num.after(q.num) {
		return &Query{ix: q.ix, bm: op(translate(q.bm, q.num, o.num), o.bm), num: o.num, ids: o.ids}
	}
	return &Query{ix: q.ix, bm: op(q.bm, translate(o.bm, o.num, q.num)), num: q.num, ids: q.ids}
}

// Query answers any segment, registered or not, without a scan: its
// members now (the index's clock), exactly as MatchJSON over every
// contact would say.
func (ix *Index) Query(seg filter.Segment) (*Query, error) {
	return ix.QueryAt(seg, ix.opts.Now())
}

// QueryAt is Query at the clock reading now (relative dates).
func (ix *Index) QueryAt(seg filter.Segment, now time.Time) (*Query, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	bm, err := ix.members(seg, now)
	if err != nil {
		return nil, err
	}
	return ix.snapshot(bm), nil
}

// Count is the number of contacts.
func (q *Query) Count() int { return int(q.bm.GetCardinality()) }

// IDs are the contacts' ids, in id order.
func (q *Query) IDs() []string {
	q.ix.mu.RLock()
	defer q.ix.mu.RUnlock()
	return idsOf(q.ids, q.bm)
}

// Page is up to limit ids, in id order, after the id after ("" for the
// first page): paging that stays stable while the index changes.
func (q *Query) Page(after string, limit int) []string {
	ids := q.IDs()
	i := sort.SearchStrings(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	if after == "" {
		i = 0
	}
	return ids[i:min(len(ids), i+max(limit, 0))]
}

// Contains reports whether the contact with this id is in the set.
func (q *Query) Contains(id string) bool {
	q.ix.mu.RLock()
	defer q.ix.mu.RUnlock()
	in := false
	q.num.numbers(id, func(n uint32) bool {
		in = int(n) < len(q.ids) && q.bm.Contains(n)
		return !in
	})
	return in
}

// And is the contacts in both.
func (q *Query) And(o *Query) *Query { return q.combine(o, roaring.And) }

// Or is the contacts in either.
func (q *Query) Or(o *Query) *Query { return q.combine(o, roaring.Or) }

// AndNot is the contacts in q and not in o ("Italian VIPs not mailed this
// week").
func (q *Query) AndNot(o *Query) *Query { return q.combine(o, roaring.AndNot) }

func sortStrings(s []string) { sort.Strings(s) }
