package audience

import (
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch/filter"
)

// Query is a set of contacts: an ad-hoc segment's members (Index.Query),
// a registered segment's (Index.Segment), or a combination. It is a
// snapshot: later writes to the index do not change it.
type Query struct {
	ix *Index
	bm *roaring.Bitmap
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
	return &Query{ix: ix, bm: bm}, nil
}

// Count is the number of contacts.
func (q *Query) Count() int { return int(q.bm.GetCardinality()) }

// IDs are the contacts' ids, in id order.
func (q *Query) IDs() []string {
	q.ix.mu.RLock()
	defer q.ix.mu.RUnlock()
	return q.ix.idsOf(q.bm)
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
	n, ok := q.ix.byID[id]
	return ok && q.bm.Contains(n)
}

// And is the contacts in both.
func (q *Query) And(o *Query) *Query { return &Query{ix: q.ix, bm: roaring.And(q.bm, o.bm)} }

// Or is the contacts in either.
func (q *Query) Or(o *Query) *Query { return &Query{ix: q.ix, bm: roaring.Or(q.bm, o.bm)} }

// AndNot is the contacts in q and not in o ("Italian VIPs not mailed this
// week").
func (q *Query) AndNot(o *Query) *Query { return &Query{ix: q.ix, bm: roaring.AndNot(q.bm, o.bm)} }

func sortStrings(s []string) { sort.Strings(s) }
