package audience

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// registry is the registered segments and their members.
type registry struct {
	eng     *engine.Engine
	res     *engine.Result
	keys    []string
	index   map[string]int
	segs    []filter.Segment
	docs    [][]byte // each segment's compact JSON: what tells an edit
	progs   []*segmatch.Program
	members []*roaring.Bitmap
	// The same memberships by contact: words bits a contact (one per
	// segment), so that an upsert compares its new result with its old one
	// without asking every segment's bitmap.
	words int
	bits  []uint64

	// Deferred member upkeep: a write changes a contact's row (the
	// truth) at once and, the first time since the members were last
	// brought up to date, records the contact in pend with the row the
	// members hold for it (pendRows, words a contact); the next reader of
	// the members (catchUp) applies every pending contact's changes, each
	// segment's at once, or the writer does once more than
	// max(minPend, live/2) contacts are pending. Writers change them
	// under ix.mu held for writing; readers hold it for reading, and the
	// first of them to find the members behind catches them up under
	// catchMu while the others wait.
	pend     []uint32
	pendRows []uint64
	pendSet  []uint64 // bit n: contact n is in pend
	behind   atomic.Bool
	catchMu  sync.Mutex
	// scratch of a catch-up: per segment, the contacts entering and
	// leaving it
	adds, dels [][]uint32
	// chunk is where writes' events are carved from (grow).
	chunk []Event
}

// minPend: contacts pending before the writer applies them itself,
// whatever the number of contacts (tests lower it).
var minPend = 1 << 14

// changing records that contact n's row is about to change (the first
// time since the last catch-up: with the row the members hold). Callers
// hold ix.mu for writing.
func (r *registry) changing(n uint32, row []uint64) {
	w := int(n >> 6)
	if w >= len(r.pendSet) {
		r.pendSet = append(r.pendSet, make([]uint64, w+1-len(r.pendSet)+len(r.pendSet)/4)...)
	}
	if r.pendSet[w]&(1<<(n&63)) != 0 {
		return
	}
	r.pendSet[w] |= 1 << (n & 63)
	r.pend = append(r.pend, n)
	r.pendRows = append(r.pendRows, row...)
}

// changed ends a write that changed rows, live being the number of live
// contacts: the members are behind, or caught up now when too many
// contacts are pending. Callers hold ix.mu for writing.
func (r *registry) changed(live int) {
	if len(r.pend) > max(minPend, live/2) {
		r.applyPending()
		r.behind.Store(false)
		return
	}
	if !r.behind.Load() {
		r.behind.Store(true)
	}
}

// catchUp brings every segment's members up to date with the rows. Every
// reader of the members calls it first. Callers hold ix.mu for reading.
func (r *registry) catchUp() {
	if !r.behind.Load() {
		return
	}
	r.catchMu.Lock()
	defer r.catchMu.Unlock()
	if !r.behind.Load() {
		return // another reader did
	}
	r.applyPending()
	r.behind.Store(false)
}

// applyPending applies the pending contacts' changes to the members: the
// contacts, in number order, entering or leaving each segment, then each
// segment's at once (by a bitmap of them, when they are many).
func (r *registry) applyPending() {
	if len(r.pend) == 0 {
		return
	}
	if r.adds == nil {
		r.adds, r.dels = make([][]uint32, len(r.members)), make([][]uint32, len(r.members))
	}
	order := make([]uint64, len(r.pend)) // number, then position in pend
	for k, n := range r.pend {
		order[k] = uint64(n)<<32 | uint64(k)
	}
	slices.Sort(order)
	for _, o := range order {
		n, k := uint32(o>>32), int(uint32(o))
		was := r.pendRows[k*r.words : (k+1)*r.words]
		now := r.row(n)
		for w := range now {
			for d := was[w] ^ now[w]; d != 0; d &= d - 1 {
				i := w*64 + bits.TrailingZeros64(d)
				if now[w]&(1<<(i&63)) != 0 {
					r.adds[i] = append(r.adds[i], n)
				} else {
					r.dels[i] = append(r.dels[i], n)
				}
			}
		}
		r.pendSet[n>>6] &^= 1 << (n & 63)
	}
	for i, bm := range r.members {
		adds, dels := r.adds[i], r.dels[i]
		switch {
		case len(adds)+len(dels) == 0:
			continue
		case len(adds)+len(dels) < 16:
			for _, n := range dels {
				bm.Remove(n)
			}
			for _, n := range adds {
				bm.Add(n)
			}
		default:
			if len(dels) > 0 {
				bm.AndNot(roaring.BitmapOf(dels...))
			}
			if len(adds) > 0 {
				bm.Or(roaring.BitmapOf(adds...))
			}
		}
		r.adds[i], r.dels[i] = adds[:0], dels[:0]
	}
	r.pend, r.pendRows = r.pend[:0], r.pendRows[:0]
}

// sizes is the member bitmaps' serialized size and pending plus what
// pend holds, measured under catchMu (a reader catching up changes both)
// without catching up. Callers hold ix.mu for reading.
func (r *registry) sizes(pending int) (members, pendingOut int) {
	r.catchMu.Lock()
	defer r.catchMu.Unlock()
	for _, bm := range r.members {
		members += int(bm.GetSerializedSizeInBytes())
	}
	return members, pending + 4*len(r.pend) + 8*len(r.pendRows)
}

// row is contact n's membership bits (zero for a contact never seen).
func (r *registry) row(n uint32) []uint64 {
	at := int(n) * r.words
	if need := at + r.words; need > len(r.bits) {
		r.bits = append(r.bits, make([]uint64, need-len(r.bits)+len(r.bits)/4)...)
	}
	return r.bits[at : at+r.words]
}

// apply takes the engine's result for contact n (res.Matches) in place of
// its packed memberships, recording the change (changing) and appending
// the events of the segments it entered or left, in segment order; live
// is the number of live contacts. Callers hold ix.mu for writing.
func (r *registry) apply(n uint32, id string, events []Event, live int) []Event {
	row := r.row(n)
	m := r.res.Matches
	// The result packed eight booleans a step (a bool is one byte, 0 or
	// 1: the multiplication gathers the eight low bits into the top byte),
	// compared with the row a word at a time.
	bools := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m))), len(m))
	var buf [4]uint64 // the words of up to 256 segments on the stack
	next := buf[:0]
	if r.words > len(buf) {
		next = make([]uint64, 0, r.words)
	}
	changes := 0
	for w := range r.words {
		var word uint64
		lo := w * 64
		if lo+64 <= len(bools) { // a whole word: eight steps of constant shifts, no bounds checks
			b := (*[64]byte)(bools[lo : lo+64])
			word = pack8(b[0:8]) | pack8(b[8:16])<<8 | pack8(b[16:24])<<16 | pack8(b[24:32])<<24 |
				pack8(b[32:40])<<32 | pack8(b[40:48])<<40 | pack8(b[48:56])<<48 | pack8(b[56:64])<<56
		} else { // the last word's
			i := lo
			for ; i+8 <= len(bools); i += 8 {
				word |= pack8(bools[i:i+8]) << (i - lo)
			}
			for ; i < len(bools); i++ {
				word |= uint64(bools[i]&1) << (i - lo)
			}
		}
		next = append(next, word)
		changes += bits.OnesCount64(word ^ row[w])
	}
	if changes == 0 {
		return events
	}
	r.changing(n, row)
	events = r.grow(events, changes)
	at := len(events)
	events = events[:at+changes]
	out, keys := events[at:], r.keys
	k := 0
	for w, word := range next {
		keys := keys[min(w*64, len(keys)):]
		for d := word ^ row[w]; d != 0 && k < len(out); d &= d - 1 {
			i := bits.TrailingZeros64(d)
			e := &out[k]
			e.Contact, e.Segment, e.Entered = id, keys[i], word&(1<<i) != 0
			k++
		}
		row[w] = word
	}
	r.changed(live)
	return events
}

// pack8 gathers eight booleans (bytes 0 or 1) into the low eight bits:
// the multiplication moves bit 0 of byte j to bit 56+j.
func pack8(b []byte) uint64 { return binary.LittleEndian.Uint64(b) * 0x0102040810204080 >> 56 }

// grow makes room for k more events. A write's own events (events
// empty) are carved from a chunk shared by the writes, capped at their
// length so that appending to them copies them out: one allocation for
// many writes. (A slice kept keeps its chunk, some 10 KB, alive.)
func (r *registry) grow(events []Event, k int) []Event {
	if len(events) > 0 || cap(events) >= k {
		return slices.Grow(events, k)
	}
	if cap(r.chunk)-len(r.chunk) < k {
		r.chunk = make([]Event, 0, max(256, k))
	}
	at := len(r.chunk)
	r.chunk = r.chunk[:at+k]
	return r.chunk[at : at : at+k]
}

// leave takes contact n out of every segment it is in (a removal),
// appending the events, in segment order. Callers hold ix.mu for writing.
func (r *registry) leave(n uint32, id string, events []Event, live int) []Event {
	row := r.row(n)
	r.changing(n, row)
	for w, d := range row {
		for ; d != 0; d &= d - 1 {
			i := w*64 + bits.TrailingZeros64(d)
			events = append(events, Event{Contact: id, Segment: r.keys[i], Entered: false})
		}
	}
	clear(row)
	r.changed(live)
	return events
}

// pack sets the membership bits of the given segments (nil: all) from
// their bitmaps.
func (r *registry) pack(which []int) {
	if which == nil {
		which = make([]int, len(r.members))
		for i := range which {
			which[i] = i
		}
	}
	for _, i := range which {
		word, bit := i>>6, uint64(1)<<(i&63)
		for k := word; k < len(r.bits); k += r.words {
			r.bits[k] &^= bit
		}
		it := r.members[i].Iterator()
		for it.HasNext() {
			r.row(it.Next())[word] |= bit
		}
	}
}

// SetSegments registers segments (replacing the registered ones) and
// computes the members of those that are new or changed, each alone
// (through the field index, as Query does), not the whole index again;
// unchanged ones keep theirs. The events are every contact that entered
// or left a new or changed segment, in segment order, then contact id
// order; a segment no longer registered is dropped without events.
// Segments are told apart by key: each needs an id or a name, once.
// Every segment reads the index's clock (Options.Now), as upserts,
// queries and Refresh do: a WithNow among opts is overridden, or members
// computed at one time would be kept current at another.
func (ix *Index) SetSegments(segs []filter.Segment, opts ...segmatch.Option) ([]Event, error) {
	opts = append(slices.Clone(opts), segmatch.WithNow(ix.opts.Now))
	// Each segment is compiled once by the engine (what upserts classify
	// with) and, when new or changed, once alone (what decides the
	// candidates the field index leaves, and whether it reads the clock):
	// an unchanged segment keeps its program.
	eng, err := engine.New(segs, opts...)
	if err != nil {
		return nil, err
	}
	keys := eng.IDs()
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		if j, dup := index[k]; dup {
			return nil, fmt.Errorf("audience: segments %d and %d have one key %q", j, i, k)
		}
		index[k] = i
	}
	next := &registry{eng: eng, res: eng.NewResult(), keys: keys, index: index, segs: slices.Clone(segs),
		docs: make([][]byte, len(segs)), progs: make([]*segmatch.Program, len(segs)), members: make([]*roaring.Bitmap, len(segs))}

	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.scanAt = ix.opts.Now() // one clock reading for every segment computed
	ix.mu.RLock()
	ix.reg.catchUp() // the members kept are read (and shared) below
	ix.mu.RUnlock()
	var events []Event
	for i := range segs {
		doc, err := json.Marshal(&segs[i])
		if err != nil {
			return nil, err
		}
		next.docs[i] = doc
		var old *roaring.Bitmap
		if j, ok := ix.reg.index[keys[i]]; ok {
			old = ix.reg.members[j]
			if bytes.Equal(ix.reg.docs[j], doc) {
				next.members[i], next.progs[i] = old, ix.reg.progs[j]
				continue
			}
		}
		if next.progs[i], err = compileOne(segs[i], ix.scanClock); err != nil {
			return nil, err // engine.New compiled it: not expected
		}
		ix.mu.RLock()
		bm, err := ix.fields.query(ix, segs[i], next.progs[i])
		ix.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		next.members[i] = bm
		events = ix.diff(events, keys[i], old, bm)
	}
	next.words = (len(keys) + 63) / 64
	next.pack(nil)
	ix.mu.Lock()
	ix.reg = next
	ix.mu.Unlock()
	ix.deliver(events)
	return events, nil
}

// scanClock is the clock of the registered segments' own programs: the
// reading (scanAt) of the write computing their members (SetSegments,
// Refresh), which sets it under wmu before it scans.
func (ix *Index) scanClock() time.Time { return ix.scanAt }

// members is an ad-hoc segment's members at the clock reading now: exact,
// as MatchJSON over every contact would say. Callers hold mu for reading.
func (ix *Index) members(seg filter.Segment, now time.Time) (*roaring.Bitmap, error) {
	prog, err := compileOne(seg, func() time.Time { return now })
	if err != nil {
		return nil, err
	}
	return ix.fields.query(ix, seg, prog)
}

// compiles counts compileOne's calls (tests: SetSegments compiles a
// segment alone once, and only a new or changed one).
var compiles atomic.Int64

// compileOne compiles one segment on its own, at the clock now.
func compileOne(seg filter.Segment, now func() time.Time) (*segmatch.Program, error) {
	compiles.Add(1)
	return segmatch.Compile(seg, segmatch.WithNow(now))
}

// diff appends the events of a segment's members going from old (nil:
// none) to now.
func (ix *Index) diff(events []Event, seg string, old, now *roaring.Bitmap) []Event {
	if old == nil {
		old = roaring.New()
	}
	for _, id := range idsOf(ix.ids, roaring.AndNot(now, old)) {
		events = append(events, Event{Contact: id, Segment: seg, Entered: true})
	}
	for _, id := range idsOf(ix.ids, roaring.AndNot(old, now)) {
		events = append(events, Event{Contact: id, Segment: seg, Entered: false})
	}
	return events
}

func (ix *Index) deliver(events []Event) {
	if ix.opts.OnEvents != nil && len(events) > 0 {
		ix.opts.OnEvents(events)
	}
}

func (r *registry) segment(i int) filter.Segment { return r.segs[i] }

// Segments are the registered segments' keys, in order.
func (ix *Index) Segments() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return append([]string(nil), ix.reg.keys...)
}

// segment is a registered segment's members, up to date. Callers hold mu
// for reading.
func (ix *Index) segment(key string) (*roaring.Bitmap, error) {
	i, ok := ix.reg.index[key]
	if !ok {
		return nil, fmt.Errorf("audience: segment %q: %w", key, ErrNotFound)
	}
	ix.reg.catchUp()
	return ix.reg.members[i], nil
}

// Count is the number of members of a registered segment.
func (ix *Index) Count(segment string) (int, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	bm, err := ix.segment(segment)
	if err != nil {
		return 0, err
	}
	return int(bm.GetCardinality()), nil
}

// Members are the ids of a registered segment's members, in id order.
func (ix *Index) Members(segment string) ([]string, error) {
	q, err := ix.Segment(segment)
	if err != nil {
		return nil, err
	}
	return q.IDs(), nil
}

// Segment is a registered segment's members as a Query, to count, page or
// combine with others.
func (ix *Index) Segment(segment string) (*Query, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	bm, err := ix.segment(segment)
	if err != nil {
		return nil, err
	}
	return ix.snapshot(bm.Clone()), nil
}
