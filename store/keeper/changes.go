package keeper

import (
	"fmt"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// resyncSkew is how far the store's clock (UpdatedAt) may run ahead of
// the keeper's, for the check above: for that long after a resync's list
// begins, every observed write is checked once (one Get each, in the
// background).
const resyncSkew = time.Minute

// supersedes reports whether the held state h is at least as new as seg,
// by the rules above.
func supersedes(h, seg filter.Segment) bool {
	return h.Status == filter.StatusDeleted || !seg.UpdatedAt.After(h.UpdatedAt)
}

// apply records seg if it is newer than what is held (see Ordering), and
// reports whether it was. A deleted segment is held as a tombstone, its
// program dropped from the overlay (hidden at once: the store confirmed
// the delete) and from the ProgramCache. Called with p.mu held.
func (p *project) apply(seg filter.Segment) bool {
	old, ok := p.held[seg.ID]
	if ok && supersedes(old.seg, seg) {
		return false
	}
	if ok && old.seg.Status != filter.StatusDeleted {
		p.active--
	}
	if seg.Status != filter.StatusDeleted {
		p.active++
	} else {
		seg = tombstone(seg.ID, seg.UpdatedAt)
	}
	p.seq++
	p.held[seg.ID] = held{seg: seg, seq: p.seq}
	p.dirty = true
	if seg.Status == filter.StatusDeleted {
		p.deleted(seg.ID)
	}
	return true
}

// gone makes the held active segment sid a tombstone, with the last
// UpdatedAt known: the store no longer has it, and the deletion's own
// state was lost with a dropped event. Called with p.mu held.
func (p *project) gone(sid string) {
	h, ok := p.held[sid]
	if !ok || h.seg.Status == filter.StatusDeleted {
		return
	}
	p.active--
	p.seq++
	p.held[sid] = held{seg: tombstone(sid, h.seg.UpdatedAt), seq: p.seq}
	p.dirty = true
	p.deleted(sid)
}

// deleted drops what is kept of the definition of segment id, just
// deleted: its overlay program (the overlay hides it instead, until a
// build is in) and its programs in the ProgramCache. Called with p.mu
// held, after the tombstone is.
func (p *project) deleted(id string) {
	if ch, ok := p.overlay[id]; ok && ch.prog != nil {
		p.setOverlay(id, change{seq: p.held[id].seq})
		p.publish()
	}
	if p.cache != nil {
		p.cache.Forget(p.id, id)
	}
}

// follow applies the project's events until the subscription ends. Events
// queued together are applied together; none waits for a build.
func (k *Keeper) follow(id string, p *project, ch <-chan store.Event) {
	defer k.wg.Done()
	defer k.projects.CompareAndDelete(id, p) // a later Get starts afresh
	for ev := range ch {
		resync := false
		p.mu.Lock()
		for more := true; more; {
			if ev.Type == store.EventResync {
				resync = true
			} else {
				p.apply(ev.Segment)
			}
			select {
			case next, ok := <-ch:
				if !ok {
					more = false
					break
				}
				ev = next
			default:
				more = false
			}
		}
		k.schedule(id, p)
		p.mu.Unlock()
		if resync {
			k.log.Info("keeper: resync", "project", id)
			if err := k.reload(id, p); err != nil {
				k.log.Error("keeper: resync failed", "project", id, "err", err)
			}
		}
	}
}

// reload re-reads the project's active segments after the feed dropped
// events, merges them into what is held and schedules a build. The list
// is read without holding p.mu, so writers are not held up: what an
// Observe applied meanwhile is at least as new as the list and is kept.
func (k *Keeper) reload(id string, p *project) error {
	p.mu.Lock()
	from := p.seq
	// Observed states applied from now on may predate the list: checked.
	if t := time.Now().Add(resyncSkew); t.After(p.verifyBefore) {
		p.verifyBefore = t
	}
	p.mu.Unlock()
	segs, err := listAll(k.ctx, k.st, id)
	if err != nil {
		return fmt.Errorf("keeper: list %s: %w", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	listed := make(map[string]bool, len(segs))
	for _, s := range segs {
		listed[s.ID] = true
		p.apply(s) // kept only when newer
	}
	// A segment held as active, not applied since the list began and
	// not listed, was deleted by an event the feed dropped (a segment
	// active throughout the read is listed, see listAll): it becomes a
	// tombstone, with the last UpdatedAt known (the deletion's is lost),
	// which no later state replaces (see Ordering): a late Observe of
	// the create, or of any write before the delete, must not bring it
	// back.
	for sid, h := range p.held {
		if h.seq <= from && !listed[sid] && h.seg.Status != filter.StatusDeleted {
			p.gone(sid)
		}
	}
	k.schedule(id, p)
	return nil
}

// Observe applies a write the caller has just made and had acknowledged
// by the store (the segment as the store returned it), so the caller's
// next Get reflects it without waiting for the change feed or a build
// (read your writes): only seg is compiled, and evaluated on its own over
// the last built classifier until a build includes it. The feed's own
// event for it is then skipped as not newer (and when the feed was
// first, Observe still makes the write visible). Projects not kept yet
// are ignored: their first Get lists the store.
func (k *Keeper) Observe(projectID string, seg filter.Segment) {
	p := k.kept(projectID)
	if p == nil {
		// Starting: its List runs after the write was acknowledged or the
		// event reaches the watcher; either way it is not lost.
		return
	}
	p.mu.Lock()
	if h, ok := p.held[seg.ID]; ok && (h.seg.Status == filter.StatusDeleted || h.seg.UpdatedAt.After(seg.UpdatedAt)) {
		// A later write (from the feed or a resync) won: show that one,
		// at least as new as the caller's. A tombstone always wins (see
		// Ordering): a late Observe does not bring a segment back.
		seg = h.seg
	}
	visible := p.visible(seg)
	p.mu.Unlock()
	if visible {
		return
	}
	var prog *segmatch.Program
	if seg.Status != filter.StatusDeleted {
		var err error
		if prog, err = k.progs.Program(projectID, seg); err != nil {
			// The store compiled it when it was written: not expected.
			k.log.Error("keeper: an observed segment does not compile; it waits for a build",
				"project", projectID, "segment", seg.ID, "err", err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.held[seg.ID]; ok && h.seg.Status == filter.StatusDeleted && seg.Status != filter.StatusDeleted {
		// Deleted while seg was compiled: show the delete.
		seg, prog = h.seg, nil
	}
	if p.visible(seg) {
		return
	}
	if p.apply(seg) && seg.Status != filter.StatusDeleted && seg.UpdatedAt.Before(p.verifyBefore) { // unless the feed applied it first
		if p.unverified == nil {
			p.unverified = map[string]struct{}{}
		}
		p.unverified[seg.ID] = struct{}{} // see Ordering
	}
	if prog != nil || seg.Status == filter.StatusDeleted {
		p.setOverlay(seg.ID, change{seq: p.held[seg.ID].seq, prog: prog})
		p.publish()
	}
	k.schedule(projectID, p)
}

// visible reports whether the published classifier already reflects seg
// (this state of it in the last build or the overlay), or seg is out of
// date (a newer state is held, which the caller handles). Called with
// p.mu held.
func (p *project) visible(seg filter.Segment) bool {
	h, ok := p.held[seg.ID]
	switch {
	case !ok || seg.UpdatedAt.After(h.seg.UpdatedAt):
		return false
	case seg.UpdatedAt.Before(h.seg.UpdatedAt):
		return true // raced by a newer write after the check above: rare, a build shows it
	case h.seq <= p.baseSeq:
		return true
	}
	ch, ok := p.overlay[seg.ID]
	return ok && ch.seq >= h.seq
}
