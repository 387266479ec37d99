package audience

// What the server (package leads, issue 16) needs beyond the rest of the
// API: a contact's document by id, and a page of a set in the index's
// own order, without sorting the set's ids.

// Lookup returns the JSON of the contact with this id, as upserted. The
// slice is the index's own: read it, never modify it.
func (ix *Index) Lookup(id string) ([]byte, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return ix.raws[n], true
}

// Slice is up to limit of the set's contacts after skipping offset, in
// the index's order: the order contacts were first upserted (a contact
// removed and upserted again counts as new: it comes last). The order is
// stable while the index changes: a page never repeats or skips a
// contact of a set that does not change. It costs what the page holds,
// not the set (and, for a set taken before the index renumbered, the
// set once: see the package doc). A contact removed since the set was
// taken is left out; raws are the index's own slices (read only).
func (q *Query) Slice(offset, limit int) (ids []string, raws [][]byte) {
	q.ix.mu.RLock()
	defer q.ix.mu.RUnlock()
	bm := q.bm
	if q.num != q.ix.num { // taken before the index renumbered
		bm = translate(bm, q.num, q.ix.num)
	}
	if offset < 0 || limit <= 0 || uint64(offset) >= bm.GetCardinality() {
		return nil, nil
	}
	first, err := bm.Select(uint32(offset))
	if err != nil {
		return nil, nil
	}
	it := bm.Iterator()
	it.AdvanceIfNeeded(first)
	for it.HasNext() && len(ids) < limit {
		n := it.Next()
		if raw := q.ix.raws[n]; raw != nil {
			ids = append(ids, q.ix.ids[n])
			raws = append(raws, raw)
		}
	}
	return ids, raws
}

// RawBytes is the JSON the index holds (Stats().RawBytes, without the
// rest of Stats' walk): what a server bounds per project.
func (ix *Index) RawBytes() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.bytes
}
