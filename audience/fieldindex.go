package audience

import (
	"bytes"
	"maps"
	"slices"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// fieldIndex answers a segment's members among the index's contacts
// without a scan (issue 15).
//
// Per field path a query reads, a pathIndex (fieldindex_path.go) holds
// what every live contact has there, read as the engine reads it: the
// value's type, and for each distinct scalar the contacts holding it (as
// the value or as an element: rule 2), numeric strings also under their
// number (rule 1), keys in order for ranges and prefixes, folded forms for
// ignore_case. A path is indexed on the first query that needs it (the
// query's other unindexed paths with it, in one pass over the contacts)
// and kept current from then on: replace reads the old and the new
// contact's indexed paths in one validating pass each (fieldindex_read.go)
// and changes only the paths whose text differs. Paths are never dropped.
//
// A query (fieldindex_query.go) gives every node of the segment's tree
// the contacts it holds for, exactly where it can; where it cannot (a
// relative date, which reads the query's clock), a lower and an upper
// bound, and the compiled program decides the contacts in between. Each
// condition of an "all" group is decided only among the contacts its
// siblings left, and a test the index cannot look up is run on each
// distinct value of the path or on each candidate's value, whichever is
// estimated cheaper.
//
// scan, the evaluation of the program on every contact, is the reference
// the answers equal (differential_test.go).
type fieldIndex struct {
	mu    sync.Mutex            // paths: queries add to it
	paths map[string]*pathIndex // by the path's canonical text (filter.Path.String)
	// rd reads the indexed paths of a contact in one pass (nil: to make,
	// when the paths changed); was and now are the two contacts of a
	// replace.
	rd       *reader
	was, now *reading
}

func newFieldIndex() *fieldIndex { return &fieldIndex{paths: map[string]*pathIndex{}} }

// add indexes the values of contact n (raw is one valid JSON object).
// Callers hold ix.mu for writing (no query runs), as for remove and
// replace.
func (f *fieldIndex) add(n uint32, raw []byte) { f.replace(n, nil, raw) }

// remove drops contact n's values (raw is what add was given).
func (f *fieldIndex) remove(n uint32, raw []byte) { f.replace(n, raw, nil) }

// replace changes contact n from old to raw (nil: no contact), both read
// in one pass each; a path whose text is the same in both is not touched.
// Callers hold ix.mu for writing.
func (f *fieldIndex) replace(n uint32, old, raw []byte) {
	if old != nil && raw != nil && bytes.Equal(old, raw) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rd == nil {
		var ready []*pathIndex
		for _, k := range slices.Sorted(maps.Keys(f.paths)) {
			if p := f.paths[k]; p.ready.Load() {
				ready = append(ready, p)
			}
		}
		f.rd = newReader(ready)
		f.was, f.now = f.rd.newReading(), f.rd.newReading()
	}
	if len(f.rd.paths) == 0 {
		return
	}
	f.was.read(old)
	f.now.read(raw)
	for i, p := range f.rd.paths {
		if same(f.was, f.now, i) {
			continue
		}
		if old != nil {
			p.change(n, f.was.value(i), false, false)
		}
		if raw != nil {
			p.change(n, f.now.value(i), true, false)
		}
	}
	f.was.reset()
	f.now.reset()
}

// bytes estimates the index's memory.
func (f *fieldIndex) bytes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, p := range f.paths {
		if p.ready.Load() {
			n += len(k) + p.bytes()
		}
	}
	return n
}

// path is the index of p, built on first use, with the other paths of
// also that are not indexed yet (in the same pass). Callers hold ix.mu
// for reading; concurrent queries wanting one path build it once.
func (f *fieldIndex) path(ix *Index, p filter.Path, also []filter.Path) *pathIndex {
	f.mu.Lock()
	var mine, theirs []*pathIndex
	var want *pathIndex
	for i, q := range append([]filter.Path{p}, also...) {
		key := q.String()
		pi := f.paths[key]
		if pi == nil {
			pi = newPathIndex(q)
			f.paths[key] = pi
		}
		if i == 0 {
			want = pi
		}
		switch {
		case pi.built == nil:
			pi.built = make(chan struct{})
			mine = append(mine, pi)
		case i == 0:
			theirs = append(theirs, pi) // being built by another query, or built
		}
	}
	f.mu.Unlock()
	if len(mine) > 0 {
		build(ix, mine)
		f.mu.Lock()
		f.rd = nil // paths more to read
		f.mu.Unlock()
		for _, pi := range mine {
			close(pi.built)
		}
	}
	for _, pi := range theirs {
		<-pi.built
	}
	return want
}

// built is the index of p when it is built, else nil.
func (f *fieldIndex) built(p filter.Path) *pathIndex {
	f.mu.Lock()
	pi := f.paths[p.String()]
	f.mu.Unlock()
	if pi == nil || !pi.ready.Load() {
		return nil
	}
	return pi
}

// query is seg's members among ix's live contacts, prog being seg compiled
// at the query's clock. Callers hold ix.mu for reading. The bitmap is new:
// the caller owns it.
func (f *fieldIndex) query(ix *Index, seg filter.Segment, prog *segmatch.Program) (*roaring.Bitmap, error) {
	q := newQuerier(ix, f, &seg)
	s := q.group(seg.Match, seg.Filters, false, ix.live)
	out := s.lo
	if !s.exact() {
		out = roaring.Or(s.lo, scan(ix, roaring.AndNot(s.hi, s.lo), prog))
	}
	if out == ix.live {
		out = out.Clone()
	}
	return out, nil
}

// scan evaluates prog on the contacts of candidates.
func scan(ix *Index, candidates *roaring.Bitmap, prog *segmatch.Program) *roaring.Bitmap {
	out := roaring.New()
	it := candidates.Iterator()
	for it.HasNext() {
		n := it.Next()
		if ok, err := prog.MatchJSON(ix.raws[n]); err == nil && ok {
			out.Add(n)
		}
	}
	return out
}
