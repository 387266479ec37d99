// Package keeper is the engine keeper: it keeps, per project, a compiled
// classifier over the project's active segments, up to date with the
// store's change feed, so that classification always reflects the latest
// segments without recompiling them on every request.
//
// Readers never lock: the current classifier of a project sits behind an
// atomic.Pointer that a rebuild swaps in one step, so a reader sees either
// the old classifier or the new one, never a half-built state. Writers (the
// project's watcher goroutine, and Observe) serialise on a per-project
// mutex.
//
// How a classifier is built is pluggable (a BuildFunc): CompileEach is a
// simple fallback that compiles each segment with segmatch.Compile; the
// multi-segment engine plugs in with one line:
//
//	k := keeper.New(st, func(s []filter.Segment) (keeper.Classifier, error) { return engine.New(s) })
package keeper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Classifier answers which of its segments a decoded contact belongs to.
// Implementations must be immutable and safe for concurrent use.
type Classifier interface {
	ClassifyMap(contact map[string]any) []string
}

// BuildFunc builds a classifier over a project's active segments, given in
// creation order (ascending id). It is called again after every change.
type BuildFunc func(segs []filter.Segment) (Classifier, error)

// ErrClosed is returned by Get after Close.
var ErrClosed = errors.New("keeper closed")

// Keeper keeps one classifier per project it has been asked about. The
// zero value is not usable; use New.
type Keeper struct {
	st     store.Store
	build  BuildFunc
	log    *slog.Logger
	ctx    context.Context // the lifetime of every watcher
	cancel context.CancelFunc
	wg     sync.WaitGroup

	projects sync.Map // project id -> *project
	closed   atomic.Bool
	// life orders the start of a watcher (wg.Add) against Close (closed,
	// then wg.Wait): a watcher either starts before Close and is waited
	// for, or does not start at all.
	life sync.Mutex
}

// Option configures New.
type Option func(*Keeper)

// WithLogger sets where build failures and resyncs are reported.
func WithLogger(l *slog.Logger) Option { return func(k *Keeper) { k.log = l } }

// New returns a keeper reading st and building classifiers with build.
// It starts nothing until Get is first called for a project.
func New(st store.Store, build BuildFunc, opts ...Option) *Keeper {
	k := &Keeper{st: st, build: build, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(k)
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	return k
}

// snapshot is one immutable built state of a project.
type snapshot struct {
	c        Classifier
	segments int
}

// project is the state kept for one project.
type project struct {
	ready chan struct{} // closed when the first snapshot (or err) is set
	err   error         // the start-up error, set before ready closes
	cur   atomic.Pointer[snapshot]

	mu sync.Mutex // guards held and orders rebuilds
	// held is every segment seen, deleted ones included (as tombstones),
	// so that an event not newer than what is held is recognised.
	held map[string]filter.Segment
}

// Get returns the current classifier of project. The first call for a
// project subscribes to its changes and builds the first classifier
// (concurrent first callers wait for it, each up to its ctx); later calls
// are one atomic load.
func (k *Keeper) Get(ctx context.Context, projectID string) (Classifier, error) {
	if k.closed.Load() {
		return nil, ErrClosed
	}
	v, ok := k.projects.Load(projectID)
	if !ok {
		p := &project{ready: make(chan struct{})}
		var loaded bool
		v, loaded = k.projects.LoadOrStore(projectID, p)
		if !loaded {
			k.start(projectID, p)
		}
	}
	p := v.(*project)
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	return p.cur.Load().c, nil
}

// Segments reports how many active segments the current classifier of
// project was built from, and whether the project is kept at all (for
// tests and metrics).
func (k *Keeper) Segments(projectID string) (int, bool) {
	v, ok := k.projects.Load(projectID)
	if !ok {
		return 0, false
	}
	p := v.(*project)
	select {
	case <-p.ready:
	default:
		return 0, false
	}
	if s := p.cur.Load(); s != nil {
		return s.segments, true
	}
	return 0, false
}

// start follows the recipe documented on store.Store.Watch: Watch first,
// then List, then apply events newer than what is held. On failure the
// project is forgotten, so a later Get tries again.
func (k *Keeper) start(id string, p *project) {
	fail := func(err error) {
		p.err = err
		k.projects.CompareAndDelete(id, p)
		close(p.ready)
	}
	k.life.Lock()
	if k.closed.Load() {
		k.life.Unlock()
		fail(ErrClosed)
		return
	}
	k.wg.Add(1) // before anything that Close must wait for
	k.life.Unlock()
	ctx, cancel := context.WithCancel(k.ctx)
	ch, err := k.st.Watch(ctx, id)
	if err != nil {
		cancel()
		fail(fmt.Errorf("keeper: watch %s: %w", id, err))
		k.wg.Done()
		return
	}
	p.mu.Lock()
	err = k.reload(id, p)
	p.mu.Unlock()
	if err != nil {
		cancel() // ends the subscription
		fail(err)
		k.wg.Done()
		return
	}
	close(p.ready)
	go func() {
		defer cancel()
		k.follow(id, p, ch)
	}()
}

// reload replaces the held state with the store's list of active
// segments and rebuilds. Called with p.mu held.
func (k *Keeper) reload(id string, p *project) error {
	segs, err := listAll(k.ctx, k.st, id)
	if err != nil {
		return fmt.Errorf("keeper: list %s: %w", id, err)
	}
	held := make(map[string]filter.Segment, len(segs))
	// Keep tombstones: an older event of a deleted segment must not bring
	// it back.
	for sid, s := range p.held {
		if s.Status == filter.StatusDeleted {
			held[sid] = s
		}
	}
	for _, s := range segs {
		if old, ok := held[s.ID]; ok && !s.UpdatedAt.After(old.UpdatedAt) {
			continue
		}
		held[s.ID] = s
	}
	p.held = held
	return k.rebuild(id, p)
}

// listAll reads every active segment of a project, each once, in windows
// of the list in creation order (createdAt, then id, ascending).
//
// One List call is one consistent read in every implementation, but a
// project larger than a page takes several, and writes between them move
// the list: after a delete, plain paging by page number would skip the
// segment that moved back across a page boundary, and no event would ever
// bring it back. So the windows overlap: each call after the first must
// start at or before the last segment the previous call returned, which
// then proves that no segment lies unread between the two. When writes
// moved the list so that a window starts past it, the read steps back and
// goes on from there. Every segment active throughout the read is then in
// the result; one created, changed or deleted during the read may be
// missing or in an older state, which the events queued since Watch
// correct (the caller skips events not newer than what it holds).
func listAll(ctx context.Context, st store.Store, id string) ([]filter.Segment, error) {
	order := store.ListOptions{Sort: store.SortCreatedAt, Direction: store.Ascending}
	seen := map[string]int{} // id -> index in all
	var all []filter.Segment
	var last filter.Segment // the last segment of the previous window
	lastPos, lastTotal := 0, 0
	target := 0 // a position the next window must include
	back := 0   // how far the last step back went
	for calls := 0; ; calls++ {
		if calls == maxListCalls {
			return nil, fmt.Errorf("%w: still changing after %d reads", errUnstableList, calls)
		}
		opts := order
		opts.Limit, opts.Page = window(target)
		page, total, err := st.List(ctx, id, opts)
		if err != nil {
			return nil, err
		}
		start := opts.Limit * opts.Page
		if calls > 0 && start > 0 && (len(page) == 0 || store.CompareSegments(page[0], last, order) > 0) {
			// Segments were deleted before this window since the last
			// read: what followed last may now sit before start. Step
			// back by at least the fall in the total (those deletes),
			// twice as far at each failure (creates may hide deletes).
			back = max(1, 2*back, lastTotal-total)
			target = max(0, lastPos-back)
			continue
		}
		back = 0
		for _, s := range page {
			if i, ok := seen[s.ID]; ok {
				if s.UpdatedAt.After(all[i].UpdatedAt) {
					all[i] = s
				}
				continue
			}
			seen[s.ID] = len(all)
			all = append(all, s)
		}
		if len(page) == 0 || start+len(page) >= total {
			return all, nil
		}
		last = page[len(page)-1]
		lastPos, lastTotal = start+len(page)-1, total
		target = lastPos
	}
}

// maxListCalls bounds the List calls of one listAll: a project of n
// segments needs a little over n/MaxLimit when nothing moves.
const maxListCalls = 1000

// errUnstableList: writes kept moving a project's list faster than
// listAll could read it.
var errUnstableList = errors.New("the segment list kept changing")

// window returns the List limit and page of the window that includes
// position target and reaches furthest past it. Limits of MaxLimit/2 to
// MaxLimit are tried, so windows need not start at multiples of one page
// size and the next window can overlap the previous one's end.
func window(target int) (limit, page int) {
	limit, page = store.MaxLimit, target/store.MaxLimit
	for l := store.MaxLimit - 1; l >= store.MaxLimit/2; l-- {
		if p := target / l; (p+1)*l > (page+1)*limit {
			limit, page = l, p
		}
	}
	return limit, page
}

// rebuild builds a classifier from the active held segments and swaps it
// in. On a build failure the previous classifier stays (stored segments
// compiled when they were written, so this is not expected). Called with
// p.mu held.
func (k *Keeper) rebuild(id string, p *project) error {
	active := make([]filter.Segment, 0, len(p.held))
	for _, s := range p.held {
		if s.Status != filter.StatusDeleted {
			active = append(active, s)
		}
	}
	slices.SortFunc(active, func(a, b filter.Segment) int { return cmp.Compare(a.ID, b.ID) })
	c, err := k.build(active)
	if err != nil {
		k.log.Error("keeper: build failed; keeping the previous classifier", "project", id, "err", err)
		if p.cur.Load() == nil {
			return fmt.Errorf("keeper: build %s: %w", id, err)
		}
		return nil
	}
	p.cur.Store(&snapshot{c: c, segments: len(active)})
	return nil
}

// apply records seg if it is newer than what is held, and reports whether
// it was. Called with p.mu held.
func (p *project) apply(seg filter.Segment) bool {
	if old, ok := p.held[seg.ID]; ok && !seg.UpdatedAt.After(old.UpdatedAt) {
		return false
	}
	p.held[seg.ID] = seg
	return true
}

// follow applies the project's events until the subscription ends. Events
// queued together are applied together and cost one rebuild.
func (k *Keeper) follow(id string, p *project, ch <-chan store.Event) {
	defer k.wg.Done()
	defer k.projects.CompareAndDelete(id, p) // a later Get starts afresh
	for ev := range ch {
		p.mu.Lock()
		resync, changed := false, false
		for more := true; more; {
			if ev.Type == store.EventResync {
				resync = true
			} else if p.apply(ev.Segment) {
				changed = true
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
		var err error
		if resync {
			k.log.Info("keeper: resync", "project", id)
			err = k.reload(id, p)
		} else if changed {
			err = k.rebuild(id, p)
		}
		p.mu.Unlock()
		if err != nil {
			k.log.Error("keeper: refresh failed", "project", id, "err", err)
		}
	}
}

// Observe applies a write the caller has just made and had acknowledged
// by the store (the segment as the store returned it), so the caller's
// next Get reflects it without waiting for the change feed (read your
// writes). The feed's own event for it is then skipped as not newer.
// Projects not kept yet are ignored: their first Get lists the store.
func (k *Keeper) Observe(projectID string, seg filter.Segment) {
	v, ok := k.projects.Load(projectID)
	if !ok {
		return
	}
	p := v.(*project)
	select {
	case <-p.ready:
	default:
		// Starting: its List runs after the write was acknowledged or the
		// event reaches the watcher; either way it is not lost.
		return
	}
	if p.err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apply(seg) {
		if err := k.rebuild(projectID, p); err != nil {
			k.log.Error("keeper: refresh failed", "project", projectID, "err", err)
		}
	}
}

// Close stops every watcher and waits for them. Get fails afterwards
// with ErrClosed. It does not close the store.
func (k *Keeper) Close() error {
	k.life.Lock()
	done := k.closed.Swap(true)
	k.life.Unlock()
	if done {
		return nil
	}
	k.cancel()
	k.wg.Wait()
	return nil
}
