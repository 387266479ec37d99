package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// RevisionDeleted is the revision recorded for a deleted segment: it is
// after every other, and a deleted segment never comes back.
const RevisionDeleted int64 = math.MaxInt64

// Revision is a segment's revision: its updatedAt in Unix nanoseconds
// (the store moves it strictly forward at every write), RevisionDeleted
// once deleted.
func Revision(seg filter.Segment) int64 {
	if seg.Status == filter.StatusDeleted {
		return RevisionDeleted
	}
	return seg.UpdatedAt.UnixNano()
}

// Snapshot is one immutable state of a project's segments: the engine
// over the active ones and the revision of every segment it knows.
type Snapshot struct {
	Project string
	// Engine classifies over the active segments that compile.
	Engine *engine.Engine
	// Rev is the revision of every segment known: active ones (those that
	// no longer compile too: they classify nobody) and deleted ones
	// (RevisionDeleted).
	Rev map[string]int64
	// Progs are the active segments' programs, by id (nil: does not
	// compile), for recomputing one segment.
	Progs map[string]*segmatch.Program
	// Segments are the active segments that compile, by id: what a
	// refresh compiles again with its own pinned clock (Refresh).
	Segments map[string]filter.Segment
}

// Follower keeps a project's Snapshot current from a store: Watch, then
// List, then the events, rebuilding the engine after each run of events
// and swapping it in atomically (engine.Live semantics: a classification
// that loaded the old snapshot finishes on it). EventResync re-reads
// everything.
type Follower struct {
	st      store.Store
	project string
	log     *slog.Logger
	opts    []segmatch.Option

	cur     sync.Mutex // guards snap and changed
	snap    *Snapshot
	changed chan struct{} // closed and replaced at each new snapshot

	relist chan struct{}
	gone   chan string // ids the caller found missing from the store
	held   map[string]filter.Segment
}

// Follow starts following project in st; it returns once the first
// snapshot is built. The follower stops when ctx is done.
func Follow(ctx context.Context, st store.Store, project string, log *slog.Logger, opts ...segmatch.Option) (*Follower, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Follower{st: st, project: project, log: log, opts: opts, changed: make(chan struct{}),
		relist: make(chan struct{}, 1), gone: make(chan string, 64), held: map[string]filter.Segment{}}
	ch, err := st.Watch(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("worker: watching project %s: %w", project, err)
	}
	if err := f.list(ctx); err != nil {
		return nil, err
	}
	go f.run(ctx, ch)
	return f, nil
}

// Load returns the current snapshot.
func (f *Follower) Load() *Snapshot {
	f.cur.Lock()
	defer f.cur.Unlock()
	return f.snap
}

// Changed returns a channel closed when a snapshot newer than the current
// one is installed.
func (f *Follower) Changed() <-chan struct{} {
	f.cur.Lock()
	defer f.cur.Unlock()
	return f.changed
}

// Refresh asks for the segments to be read again from the store (the
// workers' revisions show this follower is behind).
func (f *Follower) Refresh() {
	select {
	case f.relist <- struct{}{}:
	default:
	}
}

// Gone reports segment ids another worker knows and this follower does
// not: each is looked up in the store, and recorded as deleted when the
// store no longer has it.
func (f *Follower) Gone(id string) {
	select {
	case f.gone <- id:
	default:
	}
}

func (f *Follower) run(ctx context.Context, ch <-chan store.Event) {
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			dirty := false
			resync := false
			for {
				if ev.Type == store.EventResync {
					resync = true
				} else if f.apply(ev.Segment) {
					dirty = true
				}
				select {
				case ev, ok = <-ch:
					if ok {
						continue
					}
				default:
				}
				break
			}
			switch {
			case resync:
				err = f.list(ctx)
			case dirty:
				err = f.build()
			}
		case <-f.relist:
			err = f.list(ctx)
		case id := <-f.gone:
			err = f.lookup(ctx, id)
		}
		if err != nil && ctx.Err() == nil {
			f.log.Error("worker: segments", "project", f.project, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			f.Refresh()
		}
	}
}

// apply records seg unless what is held is as new; it reports a change.
func (f *Follower) apply(seg filter.Segment) bool {
	h, ok := f.held[seg.ID]
	if ok && (h.Status == filter.StatusDeleted || Revision(seg) <= Revision(h)) {
		return false
	}
	if seg.Status == filter.StatusDeleted {
		seg = filter.Segment{ID: seg.ID, UpdatedAt: seg.UpdatedAt, Status: filter.StatusDeleted}
	}
	f.held[seg.ID] = seg
	return true
}

func (f *Follower) lookup(ctx context.Context, id string) error {
	if _, ok := f.held[id]; ok {
		return f.list(ctx) // held: the caller saw a newer state
	}
	seg, err := f.st.Get(ctx, f.project, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		f.apply(filter.Segment{ID: id, Status: filter.StatusDeleted})
	case err != nil:
		return err
	default:
		f.apply(seg)
	}
	return f.build()
}

// list reads every active segment (pages in creation order; restarted
// when the total moves under it), marks held segments missing from it
// as deleted, and builds.
func (f *Follower) list(ctx context.Context) error {
	var all []filter.Segment
	for try := 0; ; try++ {
		all = all[:0]
		first := -1
		moved := false
		for page := 0; ; page++ {
			segs, total, err := f.st.List(ctx, f.project, store.ListOptions{Limit: store.MaxLimit, Page: page, Sort: store.SortCreatedAt, Direction: store.Ascending})
			if err != nil {
				return fmt.Errorf("worker: listing project %s: %w", f.project, err)
			}
			if first < 0 {
				first = total
			} else if total != first {
				moved = true
				break
			}
			all = append(all, segs...)
			if len(segs) == 0 || len(all) >= total {
				break
			}
		}
		if !moved || try == 20 {
			break
		}
	}
	listed := map[string]bool{}
	for _, s := range all {
		listed[s.ID] = true
		f.apply(s)
	}
	for id, h := range f.held {
		if !listed[id] && h.Status != filter.StatusDeleted {
			// Gone from the list: deleted (events may tell later; a
			// tombstone is final either way).
			f.held[id] = filter.Segment{ID: id, UpdatedAt: h.UpdatedAt, Status: filter.StatusDeleted}
		}
	}
	return f.build()
}

// build compiles the held active segments and installs the snapshot.
func (f *Follower) build() error {
	snap := &Snapshot{Project: f.project, Rev: map[string]int64{}, Progs: map[string]*segmatch.Program{}, Segments: map[string]filter.Segment{}}
	var active []filter.Segment
	for id, s := range f.held {
		snap.Rev[id] = Revision(s)
		if s.Status == filter.StatusDeleted {
			continue
		}
		prog, err := segmatch.Compile(s, f.opts...)
		if err != nil {
			f.log.Warn("worker: a stored segment does not compile; it classifies nobody", "project", f.project, "segment", id, "err", err)
			snap.Progs[id] = nil
			continue
		}
		snap.Progs[id] = prog
		snap.Segments[id] = s
		active = append(active, s)
	}
	sort.Slice(active, func(i, j int) bool { return active[i].ID < active[j].ID })
	eng, err := engine.New(active, f.opts...)
	if err != nil {
		return fmt.Errorf("worker: building the engine of project %s: %w", f.project, err)
	}
	snap.Engine = eng
	f.cur.Lock()
	f.snap = snap
	close(f.changed)
	f.changed = make(chan struct{})
	f.cur.Unlock()
	f.log.Info("worker: segments", "project", f.project, "active", len(active), "known", len(snap.Rev))
	return nil
}
