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
	// bySlot: per field slot, the ids of the packed segments' conditions
	// on it, decided together from the field's value.
	bySlot [][]int32
	// groups: the flat segments again, by number of conditions, so that
	// combining them (eagerly) runs loops of a fixed trip count the CPU
	// predicts; nested: the other segments.
	groups []segGroup
	nested []int32
}

// segGroup is flat segments with k conditions each, every one an all of
// its refs, negated when neg[j] is 1 (an any-segment is stored as
// not(all(not ...)), so one loop combines both): segment j's refs are
// refs[j*k:(j+1)*k], its index out[j].
type segGroup struct {
	k    int
	refs []uint32
	out  []int32
	neg  []uint8
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
func CompileSet(segs []filter.Segment, now func() time.Time) (*Set, error) {
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
	s.tree = newKeyTree(s.fields.paths)
	s.pack()
	return s, nil
}

// pack lays the segments out for evaluation (see packed).
func (s *Set) pack() {
	s.leafNodes = make([]*node, s.leaves)
	inSlot := make([]bool, s.leaves) // a condition is listed under its slot once (a scan per condition was quadratic)
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
			for len(s.bySlot) <= slot {
				s.bySlot = append(s.bySlot, nil)
			}
			if !inSlot[k.leaf] {
				inSlot[k.leaf] = true
				s.bySlot[slot] = append(s.bySlot[slot], int32(k.leaf))
			}
		}
		if root.kind == anyNode {
			p.flags |= packAny
		}
		s.packed = append(s.packed, p)
	}
	s.group()
}

// group lays the flat segments out by size for evalAll (see groups).
func (s *Set) group() {
	at := map[int]int{} // size -> group
	for i, p := range s.packed {
		if p.root != nil {
			s.nested = append(s.nested, int32(i))
			continue
		}
		k := int(p.end - p.start)
		g, ok := at[k]
		if !ok {
			g = len(s.groups)
			at[k] = g
			s.groups = append(s.groups, segGroup{k: k})
		}
		gr := &s.groups[g]
		gr.out = append(gr.out, int32(i))
		if p.flags&packAny == 0 || k == 0 { // an empty any is true, as an empty all
			gr.refs = append(gr.refs, s.refs[p.start:p.end]...)
			gr.neg = append(gr.neg, 0)
			continue
		}
		for _, ref := range s.refs[p.start:p.end] {
			gr.refs = append(gr.refs, ref^1)
		}
		gr.neg = append(gr.neg, 1)
	}
}

// evalAll decides every segment into dst: first every condition the
// packed segments use (each once, indexed kin together), then each
// packed segment from its conditions' memo without branching on them
// (data-dependent short-circuits mispredict), the others by their tree.
func (s *Set) evalAll(r *reader, c *operators.Context, dst []bool) {
	memo := r.memo
	if len(s.packed) < eagerFrom {
		s.evalLazy(r, c, dst)
		return
	}
	if r.slots != nil {
		s.decideBySlot(r, c)
	} else {
		for id, n := range s.leafNodes {
			if n != nil && memo[id] == undecided {
				r.decideLeaf(n, c)
			}
		}
	}
	for _, i := range s.nested {
		dst[i] = s.packed[i].root.evalSet(r, c)
	}
	for gi := range s.groups {
		combine(&s.groups[gi], memo, dst)
	}
}

// combine decides a group of segments from their conditions' memo
// without branching on it (data-dependent short-circuits mispredict):
// memo 1 is false, 2 true, so memo>>1 is the result, xor the negation bit.
// The common sizes are unrolled.
func combine(g *segGroup, memo []uint8, dst []bool) {
	refs, neg := g.refs, g.neg
	t := func(ref uint32) uint8 { return memo[ref>>1]>>1 ^ uint8(ref&1) }
	switch g.k {
	case 3:
		for j, out := range g.out {
			r := refs[j*3 : j*3+3 : j*3+3]
			dst[out] = t(r[0])&t(r[1])&t(r[2])^neg[j] == 1
		}
	case 4:
		for j, out := range g.out {
			r := refs[j*4 : j*4+4 : j*4+4]
			dst[out] = t(r[0])&t(r[1])&t(r[2])&t(r[3])^neg[j] == 1
		}
	case 5:
		for j, out := range g.out {
			r := refs[j*5 : j*5+5 : j*5+5]
			dst[out] = t(r[0])&t(r[1])&t(r[2])&t(r[3])&t(r[4])^neg[j] == 1
		}
	default:
		k := g.k
		for j, out := range g.out {
			v := uint8(1)
			for _, ref := range refs[j*k : j*k+k] {
				v &= t(ref)
			}
			dst[out] = v^neg[j] == 1
		}
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

// decideBySlot decides the packed segments' conditions field by field:
// the value read once, then each condition on it (indexed kin through
// their index).
func (s *Set) decideBySlot(r *reader, c *operators.Context) {
	memo := r.memo
	for _, ids := range s.bySlot {
		if len(ids) == 0 {
			continue
		}
		v := r.cachedValue(s.leafNodes[ids[0]])
		for _, id := range ids {
			if memo[id] != 0 {
				continue // decided with its indexed kin
			}
			n := s.leafNodes[id]
			switch {
			case s.indexes[id] != nil:
				s.indexes[id].decide(v, memo)
			case n.scalar != nil:
				memo[id] = decided(n.scalar.TestValue(v))
			default:
				memo[id] = decided(n.test(*v, *c))
			}
		}
	}
}

// Len is the number of segments.
func (s *Set) Len() int { return len(s.keys) }

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
	memo  []uint8
	col   *collected
	slots slotCache
}

// NewScratch makes working memory for s.
func (s *Set) NewScratch() *Scratch {
	n := len(s.fields.names)
	return &Scratch{memo: make([]uint8, s.leaves), col: newCollected(s.tree),
		slots: slotCache{read: make([]bool, n), vals: make([]operators.Value, n)}}
}

func (s *Set) getScratch() *Scratch {
	if sc, ok := s.scratch.Get().(*Scratch); ok {
		return sc
	}
	return s.NewScratch()
}

// MatchJSON decides every segment for one raw JSON contact into dst
// (len(dst) >= Len()), at the clock reading now (see Now). sc may be nil
// (a pooled one is used).
func (s *Set) MatchJSON(raw []byte, now time.Time, dst []bool, sc *Scratch) error {
	if sc == nil {
		sc = s.getScratch()
		defer s.scratch.Put(sc)
	}
	clear(sc.memo)
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
	clear(sc.memo)
	clear(sc.slots.read)
	defer clear(sc.slots.vals) // drop references into the contact
	r := reader{goRoot: contact, goMap: contact, mode: readGo, fields: &s.fields, memo: sc.memo, slots: &sc.slots,
		indexes: s.indexes}
	c := operators.Context{Now: now}
	s.evalAll(&r, &c, dst)
}
