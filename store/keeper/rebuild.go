package keeper

import (
	"cmp"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// activeSegments copies the active held segments, in no order. Called
// with p.mu held.
func (p *project) activeSegments() []filter.Segment {
	out := make([]filter.Segment, 0, p.active)
	for _, h := range p.held {
		if h.seg.Status != filter.StatusDeleted {
			out = append(out, h.seg)
		}
	}
	return out
}

// buildSorted sorts segs by id and builds them, also returning their ids.
func (k *Keeper) buildSorted(segs []filter.Segment) (Classifier, map[string]struct{}, error) {
	slices.SortFunc(segs, func(a, b filter.Segment) int { return cmp.Compare(a.ID, b.ID) })
	c, err := k.buildSafe(segs)
	if err != nil {
		return nil, nil, err
	}
	ids := make(map[string]struct{}, len(segs))
	for i := range segs {
		ids[segs[i].ID] = struct{}{}
	}
	return c, ids, nil
}

// errBuildPanicked: the BuildFunc panicked (a bug); the build is failed.
var errBuildPanicked = errors.New("the build panicked")

// buildSafe is k.build with a panic turned into an error (its stack
// logged): builds run in background goroutines, where a panic would end
// the process. The build then fails like any other: the previous
// classifier is kept and the build retried.
func (k *Keeper) buildSafe(segs []filter.Segment) (c Classifier, err error) {
	defer func() {
		if r := recover(); r != nil {
			k.log.Error("keeper: build panicked", "segments", len(segs), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c, err = nil, fmt.Errorf("keeper: %w: %v", errBuildPanicked, r)
		}
	}()
	c, err = k.build(segs)
	if err == nil && c == nil {
		err = errors.New("keeper: the build returned no classifier")
	}
	return c, err
}

// schedule makes sure a background rebuild of the project will run: it
// starts one unless one is running (which then folds the changes into
// its next build). Called with p.mu held.
func (k *Keeper) schedule(id string, p *project) {
	if !p.dirty || p.building {
		return
	}
	k.life.Lock()
	if k.closed.Load() {
		k.life.Unlock()
		return
	}
	k.wg.Add(1)
	k.life.Unlock()
	p.building = true
	go k.rebuilder(id, p)
}

// rebuilder builds the project while it is dirty, one build at a time,
// and ends when a build leaves nothing to do, the project is no longer
// kept, or the keeper closes.
func (k *Keeper) rebuilder(id string, p *project) {
	defer k.wg.Done()
	fails := 0
	for {
		p.mu.Lock()
		if v, _ := k.projects.Load(id); !p.dirty || v != p || k.ctx.Err() != nil {
			p.building = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		k.verify(id, p)
		select {
		case k.slots <- struct{}{}:
		case <-k.ctx.Done():
			k.stopBuilding(p)
			return
		}
		p.mu.Lock()
		p.dirty = false
		seq, active := p.seq, p.activeSegments()
		p.mu.Unlock()

		t0 := time.Now()
		c, ids, err := k.buildSorted(active)
		took := time.Since(t0)
		<-k.slots

		var pause time.Duration
		p.mu.Lock()
		if err != nil {
			p.failures++
			p.lastErr = err
			p.dirty = true // retry, with whatever arrives meanwhile
			pause = k.retryMin << min(fails, 20)
			pause = min(pause, k.retryMax)
			fails++
		} else {
			p.builds++
			p.lastErr = nil
			p.setBase(c, seq, ids)
			fails = 0
			pause = min(2*took, maxPause)
		}
		p.mu.Unlock()
		if err != nil {
			k.log.Error("keeper: build failed; keeping the previous classifier and the overlay of changes, retrying",
				"project", id, "segments", len(active), "retry_in", pause, "err", err)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-k.ctx.Done():
			t.Stop()
			k.stopBuilding(p)
			return
		}
	}
}

// verify checks the observed states that may predate a dropped delete
// (p.unverified, see Ordering) with the store's Get: a segment found is
// applied (when newer), one not found becomes a tombstone; on another
// error it is checked again before the next build.
func (k *Keeper) verify(id string, p *project) {
	p.mu.Lock()
	ids := make([]string, 0, len(p.unverified))
	for sid := range p.unverified {
		ids = append(ids, sid)
	}
	clear(p.unverified)
	p.mu.Unlock()
	for _, sid := range ids {
		seg, err := k.st.Get(k.ctx, id, sid)
		p.mu.Lock()
		switch {
		case err == nil:
			p.apply(seg)
		case errors.Is(err, store.ErrNotFound):
			p.gone(sid)
		default:
			p.unverified[sid] = struct{}{}
		}
		p.mu.Unlock()
		if err != nil && !errors.Is(err, store.ErrNotFound) && k.ctx.Err() == nil {
			k.log.Error("keeper: checking an observed segment after a resync failed; checked again before the next build",
				"project", id, "segment", sid, "err", err)
		}
	}
}

func (k *Keeper) stopBuilding(p *project) {
	p.mu.Lock()
	p.building = false
	p.mu.Unlock()
}
