package keeper

import (
	"cmp"
	"slices"

	"github.com/segmatch/segmatch"
)

// setBase installs c, built from the segments held at change count seq
// (ids), drops the overlay entries it includes and publishes. Called with
// p.mu held.
func (p *project) setBase(c Classifier, seq uint64, ids map[string]struct{}) {
	p.base, p.baseSeq, p.baseIDs = c, seq, ids
	for id, ch := range p.overlay {
		if ch.seq <= seq {
			delete(p.overlay, id)
		}
	}
	// Rebuilt once per build; between builds they change incrementally.
	p.hide = make([]string, 0, len(p.overlay))
	p.progs = nil
	p.hiddenBase = 0
	for id, ch := range p.overlay {
		p.hide = append(p.hide, id)
		if _, ok := ids[id]; ok {
			p.hiddenBase++
		}
		if ch.prog != nil {
			p.progs = append(p.progs, ch.prog)
		}
	}
	slices.Sort(p.hide)
	slices.SortFunc(p.progs, func(a, b *segmatch.Program) int { return cmp.Compare(a.Key(), b.Key()) })
	p.publish()
}

// setOverlay makes ch the overlay entry of id (the caller publishes).
// Its cost is a copy of hide or progs (pointers), no hashing or sorting
// of the whole overlay. Called with p.mu held.
func (p *project) setOverlay(id string, ch change) {
	old, had := p.overlay[id]
	p.overlay[id] = ch
	if !had {
		i, _ := slices.BinarySearch(p.hide, id)
		p.hide = slices.Insert(slices.Clip(p.hide), i, id) // a copy: hide is shared
		if _, ok := p.baseIDs[id]; ok {
			p.hiddenBase++
		}
	}
	if had && old.prog != nil {
		if i, ok := p.findProg(id); ok {
			p.progs = slices.Delete(slices.Clone(p.progs), i, i+1)
		}
	}
	if ch.prog != nil {
		i, _ := p.findProg(id)
		p.progs = slices.Insert(slices.Clip(p.progs), i, ch.prog)
	}
}

// findProg is where the program of id is or would be in p.progs.
func (p *project) findProg(id string) (int, bool) {
	return slices.BinarySearchFunc(p.progs, id, func(q *segmatch.Program, id string) int { return cmp.Compare(q.Key(), id) })
}

// publish swaps in the base classifier with the overlay over it: O(1),
// the overlay's sorted views are kept by setOverlay and setBase. Called
// with p.mu held.
func (p *project) publish() {
	s := &snapshot{c: p.base, segments: len(p.baseIDs) - p.hiddenBase + len(p.progs), overlay: len(p.overlay)}
	if len(p.overlay) > 0 {
		s.c = &overlaid{base: p.base, hide: p.hide, progs: p.progs}
	}
	p.cur.Store(s)
}

// overlaid is a built classifier with the segments changed since it was
// built evaluated on their own: the base's answers for those are hidden,
// and their programs' answers merged in, in id order.
type overlaid struct {
	base  Classifier
	hide  []string            // sorted
	progs []*segmatch.Program // by id
}

func (o *overlaid) ClassifyMap(contact map[string]any) []string {
	base := o.base.ClassifyMap(contact)
	out := make([]string, 0, len(base)+1)
	for _, id := range base {
		if _, ok := slices.BinarySearch(o.hide, id); !ok {
			out = append(out, id)
		}
	}
	n := len(out)
	for _, p := range o.progs {
		if p.Match(contact) {
			out = append(out, p.Key())
		}
	}
	if n > 0 && len(out) > n {
		slices.Sort(out) // two sorted runs
	}
	return out
}

// Ordering. A segment's states reach the keeper by three ways, in any
// order relative to each other: the change feed (complete and in commit
// order, except where an EventResync stands for dropped events), the
// lists (the first Get's and each resync's), and Observe (a write the
// caller had acknowledged, arbitrarily late: its caller may have been
// descheduled while the feed, other writers and resyncs went on). So
// which state is held never depends on the way it came, only on the
// states themselves, by two rules:
//
//   - Every write moves a segment's UpdatedAt strictly forward, so a state
//     replaces the held one only when its UpdatedAt is strictly after.
//     Equal is the same write, already held: the held state stays.
//   - Deletion is final (the store never revives a deleted segment:
//     Update of one is ErrNotFound, a second Delete changes nothing), so
//     a tombstone is never replaced, whatever UpdatedAt the other state
//     carries. This rule is needed, not only shorter: the tombstone a
//     resync leaves for a segment missing from its list (see reload)
//     carries the last UpdatedAt known, not the deletion's (its event
//     was dropped), so a late Observe of a write between the two looks
//     newer than the tombstone, and would bring the segment back.
//
// Tombstones are kept for as long as the project is (they hold no
// filters): without one, a late Observe or a stale listed state of a
// deleted segment would make it active again, with nothing to undo it.
//
// One case no held state settles: a resync's list cannot tell "deleted"
// from "never created", so a late Observe of a segment whose create and
// delete were both dropped (nothing held), or one applied while the list
// is read (a held state newer than the list began), may be older than a
// delete the keeper will never hear of. So after a resync, an active
// state applied by Observe whose UpdatedAt is not clearly after the
// list began (resyncSkew of clock difference allowed) is checked with
// the store's Get before the next build, in the background: found, it
// is applied (when newer); not found, the segment is deleted (deletion
// is final) and becomes a tombstone. Until then the overlay shows it, as
// it shows any acknowledged write. A write after the list began needs
// no check: its event follows the resync, or a later resync covers it.
