package audience

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

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
// and kept current from then on, lazily: a write only records the
// contact as pending (changed), with the version the paths hold, so that
// an upsert costs the paths nothing; the next reader of the paths (a
// query or a backfill) catches them up first (catchUp), each pending
// contact once however many times it changed: replace reads its old and
// new version's indexed paths in one validating pass each
// (fieldindex_read.go) and changes only the paths whose text differs.
// Answers are those of paths current with every contact. When more
// contacts are pending than a build would read (dropPending), the paths
// are dropped instead, and indexed again by the next query needing one.
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

	// Deferred upkeep. A write does not touch the paths: it records the
	// contact in pending (the first time since the last catch-up), with
	// the JSON the paths hold for it (nil: none, the contact is new
	// since), and the paths are behind (not ready) until the next reader
	// of them (a query or a backfill) brings them up to date, every
	// pending contact in one batch (catchUp). Writers change pending
	// under ix.mu held for writing; readers hold it for reading, and the
	// first of them to find the paths behind catches them up under
	// catchMu while the others wait: no reader reads a path while it
	// changes, and no write comes between.
	pending      []pendingContact
	pendSet      []uint64    // bit n: contact n is pending
	pendingBytes int         // the JSON pending holds
	behind       atomic.Bool // pending is not empty: the kept paths are not ready
	catchMu      sync.Mutex
	// kept counts the built paths (ready or behind): none, and a write
	// has nothing to record.
	kept int
	// drops counts the times pending outgrew dropPending (tests).
	drops int

	// maxPaths bounds the kept paths (Options.MaxIndexedPaths): past it,
	// a build evicts the least recently used (clock: the uses so far,
	// each kept path's last in pathIndex.used).
	maxPaths int
	clock    atomic.Int64
	evicted  int // paths evicted so far (tests)
}

func newFieldIndex(maxPaths int) *fieldIndex {
	return &fieldIndex{paths: map[string]*pathIndex{}, maxPaths: maxPaths}
}

// evict forgets the least recently used kept paths, none of keep, until
// at most maxPaths are kept (or only keep's are). Callers hold f.mu and
// ix.mu for reading: a query still reading an evicted path reads it as
// it is, current (no write comes between), and the next query wanting it
// builds it again.
func (f *fieldIndex) evict(keep []*pathIndex) {
	if f.kept <= f.maxPaths {
		return
	}
	var lru []*pathIndex
	for _, p := range f.paths {
		if p.kept && !slices.Contains(keep, p) {
			lru = append(lru, p)
		}
	}
	slices.SortFunc(lru, func(a, b *pathIndex) int { return cmp.Compare(a.used.Load(), b.used.Load()) })
	for _, p := range lru[:min(len(lru), f.kept-f.maxPaths)] {
		delete(f.paths, p.path.String())
		p.kept = false
		f.kept--
		f.evicted++
	}
	f.rd = nil // the paths to read changed
}

// pendingContact is a contact changed since the paths were last caught
// up, and the JSON they hold for it.
type pendingContact struct {
	n   uint32
	old []byte
}

// dropPending bounds pending: once more than max(minDrop, live/dropShare)
// contacts changed since the paths were last caught up, or the old
// versions pending hold more than max(minDropBytes, raw/dropShare) bytes
// (raw: the contacts' JSON the index keeps), the paths are dropped
// instead (the next query needing one builds it again, in one pass over
// the contacts). The bytes matter apart: a few large contacts replaced
// by small ones would hold, by count alone, up to minDrop old versions of
// up to Options.MaxContactBytes each (4 GiB at the defaults) while the
// index kept little. Catching up costs two reads of a contact and
// the changes of its paths (25-55 us a contact replaced with 16 paths,
// 8 us edited: BenchmarkQueryUpkeep), a build one read and the values
// added (14 us a contact for 16 paths: BenchmarkUpsertIndexed's log):
// past some third of the contacts building is cheaper, and the old
// versions held are bounded by that share of the raw contacts.
const dropShare = 3

var (
	minDrop      = 4096     // (tests lower it)
	minDropBytes = 64 << 20 // (tests lower it)
)

// changed records that contact n is about to change from old (nil: a new
// contact) to whatever ix.raws[n] will hold (nil: removed), live being
// the number of live contacts and raw the bytes of JSON the index keeps.
// Callers hold ix.mu for writing.
func (f *fieldIndex) changed(n uint32, old []byte, live, raw int) {
	if f.kept == 0 {
		return // no path to keep: a build reads the contacts as they are
	}
	if !f.behind.Load() {
		for _, p := range f.paths {
			if p.kept {
				p.ready.Store(false)
			}
		}
		f.behind.Store(true)
	}
	w := int(n >> 6)
	if w >= len(f.pendSet) {
		f.pendSet = append(f.pendSet, make([]uint64, w+1-len(f.pendSet)+len(f.pendSet)/4)...)
	}
	if f.pendSet[w]&(1<<(n&63)) != 0 {
		return // the paths hold an older version still
	}
	f.pendSet[w] |= 1 << (n & 63)
	f.pending = append(f.pending, pendingContact{n, old})
	f.pendingBytes += len(old)
	if len(f.pending) > max(minDrop, live/dropShare) || f.pendingBytes > max(minDropBytes, raw/dropShare) {
		f.drop()
	}
}

// drop forgets every path and what is pending. Callers hold ix.mu for
// writing.
func (f *fieldIndex) drop() {
	f.paths = map[string]*pathIndex{}
	f.rd, f.was, f.now = nil, nil, nil
	f.pending, f.pendSet = nil, nil
	f.pendingBytes, f.kept = 0, 0
	f.behind.Store(false)
	f.drops++
}

// catchUp brings the kept paths up to date with the contacts: each
// pending contact changes from the version the paths hold to the one
// ix.raws holds. Every reader of the paths calls it first. Callers hold
// ix.mu for reading.
func (f *fieldIndex) catchUp(ix *Index) {
	if !f.behind.Load() {
		return
	}
	f.catchMu.Lock()
	defer f.catchMu.Unlock()
	if !f.behind.Load() {
		return // another reader did
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	slices.SortFunc(f.pending, func(a, b pendingContact) int { return int(a.n) - int(b.n) })
	for _, pc := range f.pending {
		f.replace(pc.n, pc.old, ix.raws[pc.n])
		f.pendSet[pc.n>>6] &^= 1 << (pc.n & 63)
	}
	clear(f.pending) // the old versions are garbage now
	f.pending = f.pending[:0]
	f.pendingBytes = 0
	for _, p := range f.paths {
		if p.kept {
			p.ready.Store(true)
		}
	}
	f.behind.Store(false)
}

// replace changes contact n from old to raw (nil: no contact) in every
// kept path, both read in one pass each; a path whose text is the same
// in both is not touched. Callers hold f.mu and have the paths to
// themselves (catchUp).
func (f *fieldIndex) replace(n uint32, old, raw []byte) {
	if old != nil && raw != nil && bytes.Equal(old, raw) {
		return
	}
	if f.rd == nil {
		var kept []*pathIndex
		for _, k := range slices.Sorted(maps.Keys(f.paths)) {
			if p := f.paths[k]; p.kept {
				kept = append(kept, p)
			}
		}
		f.rd = newReader(kept)
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

// bytes is the number of kept paths and estimates their memory, and
// pending's: the old
// versions of the contacts changed since the last catch-up.
func (f *fieldIndex) bytes() (kept, paths, pending int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, p := range f.paths {
		if p.kept {
			paths += len(k) + p.bytes()
		}
	}
	return f.kept, paths, f.pendingBytes + 32*len(f.pending)
}

// path is the index of p, built on first use, with the other paths of
// also that are not indexed yet (in the same pass). Callers hold ix.mu
// for reading; concurrent queries wanting one path build it once.
func (f *fieldIndex) path(ix *Index, p filter.Path, also []filter.Path) *pathIndex {
	f.catchUp(ix) // a build reads the contacts as they are: the other paths must be too
	f.mu.Lock()
	var mine, theirs, asked []*pathIndex
	var want *pathIndex
	for i, q := range append([]filter.Path{p}, also...) {
		key := q.String()
		pi := f.paths[key]
		if pi == nil {
			pi = newPathIndex(q)
			f.paths[key] = pi
		}
		pi.used.Store(f.clock.Add(1))
		asked = append(asked, pi)
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
		for _, pi := range mine {
			pi.kept = true
		}
		f.kept += len(mine)
		f.rd = nil // paths more to read
		f.evict(asked)
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
	pi.used.Store(f.clock.Add(1))
	return pi
}

// query is seg's members among ix's live contacts, prog being seg compiled
// at the query's clock. Callers hold ix.mu for reading. The bitmap is new:
// the caller owns it.
func (f *fieldIndex) query(ix *Index, seg filter.Segment, prog *segmatch.Program) (*roaring.Bitmap, error) {
	f.catchUp(ix)
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
