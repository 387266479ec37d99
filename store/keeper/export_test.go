package keeper

import "time"

// WithRetry sets the pauses between a failed build and its retry (tests
// shorten them).
func WithRetry(first, last time.Duration) Option {
	return func(k *Keeper) { k.retryMin, k.retryMax = first, last }
}

// Tombstones reports what the keeper holds of project's deleted
// segments: how many tombstones, how many filters (and bytes of filter
// values) they keep, and how many overlay programs are of a deleted
// segment.
func (k *Keeper) Tombstones(project string) (tombs, filters, valueBytes, overlayProgs int) {
	p := k.kept(project)
	if p == nil {
		return 0, 0, 0, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, h := range p.held {
		if h.seg.Status != 0 {
			continue
		}
		tombs++
		filters += len(h.seg.Filters)
		for _, f := range h.seg.Filters {
			valueBytes += len(f.Value)
		}
		if ch, ok := p.overlay[id]; ok && ch.prog != nil {
			overlayProgs++
		}
	}
	return tombs, filters, valueBytes, overlayProgs
}

// ProgramUsage is Usage of the keeper's ProgramCache.
func (k *Keeper) ProgramUsage() (programs, bytes int) { return k.progs.Usage() }
