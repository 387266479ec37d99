package plan

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// Set is many segments compiled into one evaluation plan: the union of
// the fields they read is collected in one pass over a raw contact, and
// identical conditions are decided once per contact however many segments
// use them. It is immutable and safe for concurrent use. Package engine
// builds batches, streams and hot swapping on it.
type Set struct {
	keys     []string
	roots    []*node
	fields   fieldSet
	tree     *keyTree
	leaves   int
	readsNow bool
	now      func() time.Time
	scratch  sync.Pool
	// indexes: per condition id, the index deciding it together with the
	// indexable conditions on its field (nil: decided alone).
	indexes []*fieldIndex
	// packed: per segment, its conditions as one run of refs when it has
	// no nested group, all segments' runs in one dense array (a condition
	// id and its negation in 4 bytes), the nodes aside by id.
	packed    []packedSeg
	refs      []uint32 // id<<1 | negate
	leafNodes []*node  // per condition id, a node that tests it
	// work: per field slot the packed segments read, what decides its
	// conditions from the field's value (read once); memoStart: the memo
	// a contact starts from when they are decided eagerly (every
	// condition of those slots' indexes false until its index marks it).
	work      []slotWork
	memoStart []uint8
	// groups: the flat segments again, by number of conditions, so that
	// combining them (eagerly) runs loops of a fixed trip count the CPU
	// predicts; nested: the other segments.
	groups []segGroup
	nested []int32
}

// packedSeg is a segment whose filters are all conditions:
// refs[start:end] combined by any or all (flags). A segment with nested
// groups has root set.
type packedSeg struct {
	start, end uint32
	flags      uint8 // packAny
	root       *node
}

const packAny uint8 = 1

// CompileSet compiles segments into one plan. Problems are reported for
// every segment at once, each filter.Error's Path prefixed with the
// segment's index ("/3/filters/0/operator"). Results tell segments apart
// by key, so a segment with neither an ID nor a name is an error
// (ErrNoIdentity, at "/3").
//
// capture names top-level members whose raw JSON each contact's pass keeps
// (Scratch.Captured; Config.Capture).
func CompileSet(segs []filter.Segment, now func() time.Time, capture ...string) (*Set, error) {
	c := &compiler{target: forSet}
	s := &Set{now: now}
	var errs []error
	for i := range segs {
		before := len(c.errs)
		if err := filter.CheckSize(segs[i].Filters); err != nil {
			errs = append(errs, &filter.Error{Path: "/" + strconv.Itoa(i), Err: err.(*filter.Error).Err})
			continue
		}
		if segs[i].Key() == "" {
			errs = append(errs, &filter.Error{Path: "/" + strconv.Itoa(i), Err: filter.ErrNoIdentity})
		}
		c.budget = &budget{} // bounds are per segment
		root := c.group(segs[i].Match, segs[i].Filters, "", 1, false)
		for _, e := range c.errs[before:] {
			var ce *filter.Error
			if errors.As(e, &ce) {
				errs = append(errs, &filter.Error{Path: "/" + strconv.Itoa(i) + ce.Path, Err: ce.Err})
			} else {
				errs = append(errs, e)
			}
		}
		s.keys = append(s.keys, strings.Clone(segs[i].Key())) // not the document it was decoded from
		s.roots = append(s.roots, root)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.fields, s.leaves, s.readsNow = c.fields, len(c.leaves), c.readsNow
	s.indexes = buildIndexes(c.indexable)
	s.tree = newKeyTree(s.fields.paths, capture...)
	s.pack()
	return s, nil
}

// pack lays the segments out for evaluation (see packed).
func (s *Set) pack() {
	s.leafNodes = make([]*node, s.leaves)
	inSlot := make([]bool, s.leaves) // a condition is listed under its slot once (a scan per condition was quadratic)
	var bySlot [][]int32             // per field slot, the packed segments' conditions on it
	for _, root := range s.roots {
		flat := true
		for _, k := range root.flat {
			if k.leaf < 0 {
				flat = false
			} else {
				s.leafNodes[k.leaf] = k.node
			}
		}
		if !flat {
			s.packed = append(s.packed, packedSeg{root: root})
			continue
		}
		p := packedSeg{start: uint32(len(s.refs))}
		for _, k := range root.flat {
			ref := uint32(k.leaf) << 1
			if k.negate {
				ref |= 1
			}
			s.refs = append(s.refs, ref)
		}
		p.end = uint32(len(s.refs))
		for _, k := range root.flat {
			slot := k.node.slot
			for len(bySlot) <= slot {
				bySlot = append(bySlot, nil)
			}
			if !inSlot[k.leaf] {
				inSlot[k.leaf] = true
				bySlot[slot] = append(bySlot[slot], int32(k.leaf))
			}
		}
		if root.kind == anyNode {
			p.flags |= packAny
		}
		s.packed = append(s.packed, p)
	}
	s.planSlots(bySlot)
	s.group()
}

// evalAll decides every segment into dst: first every condition the
// packed segments use (each once, indexed kin together), then each
// packed segment from its conditions' memo without branching on them
// (data-dependent short-circuits mispredict), the others by their tree.
func (s *Set) evalAll(r *reader, c *operators.Context, dst []bool) {
	if len(dst) < len(s.packed) {
		panic("plan: a result buffer shorter than the Set") // combine writes without bounds checks (memo: own)
	}
	if len(s.packed) < eagerFrom {
		s.evalLazy(r, c, dst)
		return
	}
	s.decideBySlot(r, c)
	for _, i := range s.nested {
		dst[i] = s.packed[i].root.evalSet(r, c)
	}
	for gi := range s.groups {
		combine(&s.groups[gi], r.memo, dst)
	}
}

// eagerFrom is the number of segments from which deciding every
// condition up front beats short-circuiting (measured with
// benchmarks.BenchmarkScale: few segments leave most conditions
// undecided, many decide nearly all of them anyway).
const eagerFrom = 64

// evalLazy decides each segment in turn, a condition only when a segment
// needs it (short-circuit).
func (s *Set) evalLazy(r *reader, c *operators.Context, dst []bool) {
	memo, refs := r.memo, s.refs
	for i := range s.packed {
		p := &s.packed[i]
		if p.root != nil {
			dst[i] = p.root.evalSet(r, c)
			continue
		}
		stop := p.flags&packAny != 0
		res := !stop || p.start == p.end
		for _, ref := range refs[p.start:p.end] {
			m := memo[ref>>1]
			if m == undecided {
				m = r.decideLeaf(s.leafNodes[ref>>1], c)
			}
			if (m == decidedTrue) != (ref&1 != 0) == stop {
				res = stop
				break
			}
		}
		dst[i] = res
	}
}

// slotWork decides the packed segments' conditions on one field slot:
// the slot's index (nil without one) marks its conditions, the others
// are decided alone.
type slotWork struct {
	first *node // a condition on the slot, whose field value is read
	index *fieldIndex
	alone []*node
}

// planSlots lays out decideBySlot's work from each slot's conditions, and
// the memo a contact starts from.
func (s *Set) planSlots(bySlot [][]int32) {
	if len(s.packed) >= eagerFrom {
		s.memoStart = make([]uint8, s.leaves)
	}
	for _, ids := range bySlot {
		if len(ids) == 0 {
			continue
		}
		w := slotWork{first: s.leafNodes[ids[0]]}
		for _, id := range ids {
			ix := s.indexes[id]
			if ix == nil {
				w.alone = append(w.alone, s.leafNodes[id])
				continue
			}
			if w.index == nil {
				w.index = ix
				if s.memoStart != nil {
					for _, l := range ix.leaves {
						s.memoStart[l] = decidedFalse
					}
				}
			}
		}
		s.work = append(s.work, w)
	}
}

// startMemo resets memo for a contact (see memoStart).
func (s *Set) startMemo(memo []uint8) {
	if s.memoStart != nil {
		copy(memo, s.memoStart)
		return
	}
	clear(memo)
}

// decideBySlot decides the packed segments' conditions field by field,
// each field's value read once. It runs on a memo from startMemo, in
// which the indexes' conditions are already false.
func (s *Set) decideBySlot(r *reader, c *operators.Context) {
	memo := r.memo
	for i := range s.work {
		w := &s.work[i]
		v := r.cachedValue(w.first)
		if w.index != nil {
			w.index.mark(v, memo)
		}
		for _, n := range w.alone {
			if n.scalar != nil {
				memo[n.leaf] = decided(n.scalar.TestValue(v))
			} else {
				memo[n.leaf] = decided(n.test(*v, *c))
			}
		}
	}
}

// Len is the number of segments.
func (s *Set) Len() int { return len(s.keys) }

// Captures is the number of members captured per contact (CompileSet).
func (s *Set) Captures() int { return s.tree.caps }

// Keys are the segments' keys (ID, or name without one), in order.
func (s *Set) Keys() []string { return s.keys }

// Fields lists the distinct field paths the set reads.
func (s *Set) Fields() []string { return append([]string(nil), s.fields.names...) }

// Conditions is the number of distinct conditions (shared ones counted
// once).
func (s *Set) Conditions() int { return s.leaves }

// Now reads the set's clock (once per batch, by the engine).
func (s *Set) Now() time.Time {
	if s.readsNow {
		return s.now()
	}
	return time.Time{}
}

// Scratch is the per-evaluation working memory of a Set. Reuse one per
// goroutine to evaluate without allocating.
type Scratch struct {
	set   *Set // the one it is for: another's would be read through the wrong key tree and sizes
	memo  []uint8
	col   *collected
	slots slotCache
}

// NewScratch makes working memory for s.
func (s *Set) NewScratch() *Scratch {
	n := len(s.fields.names)
	return &Scratch{set: s, memo: make([]uint8, s.leaves), col: newCollected(s.tree),
		slots: slotCache{read: make([]bool, n), vals: make([]operators.Value, n)}}
}

func (s *Set) getScratch() *Scratch {
	if sc, ok := s.scratch.Get().(*Scratch); ok {
		return sc
	}
	return s.NewScratch()
}

// Captured is the raw JSON of each capture (CompileSet) in the last raw
// contact sc read, "" for a member it does not have (the first of a
// repeated key). It refers into that contact: valid until sc reads the
// next.
func (sc *Scratch) Captured() []string { return sc.col.captured }

// own panics on a Scratch of another Set (its memo, collector and slot
// cache are sized and numbered for that Set's conditions and key tree:
// read here they give wrong verdicts, or too short, index past them).
func (s *Set) own(sc *Scratch) {
	if sc.set != s {
		panic("plan: a Scratch of another Set")
	}
}

// MatchJSON decides every segment for one raw JSON contact into dst
// (len(dst) >= Len()), at the clock reading now (see Now). sc may be nil
// (a pooled one is used).
func (s *Set) MatchJSON(raw []byte, now time.Time, dst []bool, sc *Scratch) error {
	if sc == nil {
		sc = s.getScratch()
		defer s.scratch.Put(sc)
	}
	s.own(sc)
	s.startMemo(sc.memo)
	clear(sc.slots.read)
	doc := bytesString(raw)
	sc.col.start(doc)
	defer sc.col.reset()
	defer clear(sc.slots.vals) // drop references into the contact
	r := reader{rawRoot: doc, mode: readRaw, fields: &s.fields, memo: sc.memo, col: sc.col, slots: &sc.slots,
		indexes: s.indexes}
	if err := rawjson.ValidateCollect(raw, sc.col, rawjson.MaxCollectDepth); err != nil {
		return err
	}
	c := operators.Context{Now: now}
	s.evalAll(&r, &c, dst)
	return nil
}

// Match decides every segment for one decoded contact into dst.
func (s *Set) Match(contact map[string]any, now time.Time, dst []bool, sc *Scratch) {
	if sc == nil {
		sc = s.getScratch()
		defer s.scratch.Put(sc)
	}
	s.own(sc)
	s.startMemo(sc.memo)
	clear(sc.slots.read)
	clear(sc.col.captured)     // a decoded contact captures nothing
	defer clear(sc.slots.vals) // drop references into the contact
	r := reader{goRoot: contact, goMap: contact, mode: readGo, fields: &s.fields, memo: sc.memo, slots: &sc.slots,
		indexes: s.indexes}
	c := operators.Context{Now: now}
	s.evalAll(&r, &c, dst)
}
