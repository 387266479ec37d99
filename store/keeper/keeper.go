// Package keeper is the engine keeper: it keeps, per project, a compiled
// classifier over the project's active segments, up to date with the
// store's change feed, so that classification always reflects the latest
// segments without recompiling them on every request.
//
// Readers never lock: the current classifier of a project sits behind an
// atomic.Pointer that is swapped in one step, so a reader sees either the
// old classifier or the new one, never a half-built state.
//
// Writes do not wait for a build. Building a project's classifier (the
// engine over all its segments) costs time in the number of segments, so
// it never runs on a writer's path: a change marks the project dirty, and
// one background rebuild per project at a time builds from everything
// held when it starts; changes that arrive meanwhile mark it dirty again
// and are folded into the next build, so many writers cause few builds.
// After a build that took d, the next starts no sooner than 2d later (at
// most 2 s), so back-to-back builds use at most a third of a core, and at
// most GOMAXPROCS/2 projects build at once. A failed build (a BuildFunc
// that panics included: the panic is recovered and its stack logged) is
// logged, keeps the previous classifier, and is retried with a growing
// pause (later changes are folded into the retry, none is lost).
//
// Deleted segments are held as tombstones (id, updatedAt, status: none
// of their filters), which no later state of the segment replaces, so a
// late write or event cannot bring one back; their programs are dropped
// from the overlay and the ProgramCache. See Ordering (on apply) for how
// the feed, the lists and Observe are reconciled.
//
// Read your writes: Observe (the API calls it with each write the store
// acknowledged) compiles only the written segment and publishes, at once,
// the last built classifier plus an overlay: the segments changed since
// that build, each evaluated by its own program (a deleted one hidden).
// So a classify right after a write sees it, without waiting for any
// build; the overlay empties as builds catch up. Changes that arrive only
// through the change feed (other writers) become visible when the build
// that includes them is swapped in.
//
// Compiled segments are kept in a ProgramCache under their id and
// updatedAt (Program): the overlay's programs, and what the API's /match
// evaluates, so a stored segment is compiled once per version, not per
// request.
//
// How a classifier is built is pluggable (a BuildFunc): CompileEach is a
// simple fallback that compiles each segment with segmatch.Compile; the
// multi-segment engine plugs in with one line:
//
//	k := keeper.New(st, func(s []filter.Segment) (keeper.Classifier, error) { return engine.New(s) })
package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Classifier answers which of its segments a decoded contact belongs to.
// Implementations must be immutable and safe for concurrent use.
type Classifier interface {
	ClassifyMap(contact map[string]any) []string
}

// BuildFunc builds a classifier over a project's active segments, given in
// creation order (ascending id); the classifier answers ids in that order.
// It is called again, off the writers' path, after changes.
type BuildFunc func(segs []filter.Segment) (Classifier, error)

// ErrClosed is returned by Get after Close.
var ErrClosed = errors.New("keeper closed")

// Keeper keeps one classifier per project it has been asked about. The
// zero value is not usable; use New.
type Keeper struct {
	st     store.Store
	build  BuildFunc
	log    *slog.Logger
	ctx    context.Context // the lifetime of every watcher and rebuild
	cancel context.CancelFunc
	wg     sync.WaitGroup

	compile    CompileFunc
	cacheBytes int
	progs      *ProgramCache
	slots      chan struct{} // one token per background build running
	retryMin   time.Duration
	retryMax   time.Duration

	projects sync.Map // project id -> *project
	closed   atomic.Bool
	// life orders the start of a watcher or rebuild (wg.Add) against
	// Close (closed, then wg.Wait): one either starts before Close and is
	// waited for, or does not start at all.
	life sync.Mutex
}

// Option configures New.
type Option func(*Keeper)

// WithLogger sets where build failures and resyncs are reported.
func WithLogger(l *slog.Logger) Option { return func(k *Keeper) { k.log = l } }

// WithCompile sets how one segment is compiled, for the overlay and
// Program (default segmatch.Compile). Give it the options the BuildFunc
// compiles with.
func WithCompile(c CompileFunc) Option { return func(k *Keeper) { k.compile = c } }

// WithProgramCacheBytes bounds the keeper's ProgramCache (default
// DefaultProgramCacheBytes).
func WithProgramCacheBytes(n int) Option { return func(k *Keeper) { k.cacheBytes = n } }

// Pauses between a failed build and its retry: the first, doubled at
// each failure in a row up to the last.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 30 * time.Second
	// maxPause bounds the pause after a build (twice its duration).
	maxPause = 2 * time.Second
)

// New returns a keeper reading st and building classifiers with build.
// It starts nothing until Get is first called for a project.
func New(st store.Store, build BuildFunc, opts ...Option) *Keeper {
	k := &Keeper{st: st, build: build, log: slog.New(slog.DiscardHandler), retryMin: retryMin, retryMax: retryMax}
	for _, o := range opts {
		o(k)
	}
	k.progs = NewProgramCache(k.compile, k.cacheBytes)
	k.slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
	k.ctx, k.cancel = context.WithCancel(context.Background())
	return k
}

// snapshot is one immutable published state of a project.
type snapshot struct {
	c        Classifier
	segments int // active segments c reflects
	overlay  int // segments c evaluates on their own
}

// held is the latest state of one segment the keeper knows. A deleted
// segment is held as a tombstone: its ID, UpdatedAt and Status only,
// never its filters.
type held struct {
	seg filter.Segment
	seq uint64 // the project's change count when it was applied
}

// tombstone is what is held of a deleted segment: enough to order later
// states of it (see apply), nothing of its definition.
func tombstone(id string, updatedAt time.Time) filter.Segment {
	return filter.Segment{ID: id, UpdatedAt: updatedAt, Status: filter.StatusDeleted}
}

// change is an observed write not yet in the built classifier.
type change struct {
	seq  uint64
	prog *segmatch.Program // nil: the segment was deleted
}

// project is the state kept for one project.
type project struct {
	id    string
	cache *ProgramCache // the keeper's: deleted segments' programs are dropped
	ready chan struct{} // closed when the first snapshot (or err) is set
	err   error         // the start-up error, set before ready closes
	cur   atomic.Pointer[snapshot]

	mu sync.Mutex // guards what follows
	// held is every segment seen, deleted ones included (as tombstones),
	// so that an event not newer than what is held is recognised.
	held   map[string]held
	active int    // active segments in held
	seq    uint64 // changes applied to held
	// base is the last classifier built, from the active segments held
	// when the change count was baseSeq; baseIDs are their ids.
	base    Classifier
	baseSeq uint64
	baseIDs map[string]struct{}
	// overlay is the observed writes applied after baseSeq, by id;
	// hide (its ids) and progs (its programs, deletes have none) are the
	// same sorted by id, and hiddenBase counts its ids in baseIDs. hide
	// and progs are shared with published snapshots: they are replaced,
	// never modified in place.
	overlay    map[string]change
	hide       []string
	progs      []*segmatch.Program
	hiddenBase int
	// unverified: ids of active states applied by Observe that may be
	// older than a delete whose event a resync stood for, checked with
	// the store before the next build; verifyBefore: observed states
	// updated before it are (zero until a resync). See Ordering.
	unverified   map[string]struct{}
	verifyBefore time.Time
	dirty        bool // held changed since the last build started
	building     bool // a rebuild goroutine runs
	builds       int
	failures     int
	lastErr      error
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
		p := &project{id: projectID, cache: k.progs, ready: make(chan struct{})}
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

// kept returns the project when it is kept and started, else nil.
func (k *Keeper) kept(projectID string) *project {
	v, ok := k.projects.Load(projectID)
	if !ok {
		return nil
	}
	p := v.(*project)
	select {
	case <-p.ready:
	default:
		return nil
	}
	if p.err != nil {
		return nil
	}
	return p
}

// Segments reports how many active segments the current classifier of
// project reflects, and whether the project is kept at all (for tests
// and metrics).
func (k *Keeper) Segments(projectID string) (int, bool) {
	p := k.kept(projectID)
	if p == nil {
		return 0, false
	}
	return p.cur.Load().segments, true
}

// Stats describes the state of one kept project.
type Stats struct {
	// Segments is how many active segments the current classifier
	// reflects, and Overlay how many of the changed ones it evaluates
	// on their own, waiting for a build.
	Segments, Overlay int
	// Builds counts the builds that succeeded (the first included),
	// Failures those that failed; LastErr is the last failure, nil once
	// a build succeeds again.
	Builds, Failures int
	LastErr          error
	// Pending: changes are held that no finished build includes yet
	// (a build is due or running).
	Pending bool
}

// Stats reports on project, and whether it is kept at all.
func (k *Keeper) Stats(projectID string) (Stats, bool) {
	p := k.kept(projectID)
	if p == nil {
		return Stats{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.cur.Load()
	return Stats{Segments: s.segments, Overlay: s.overlay, Builds: p.builds, Failures: p.failures,
		LastErr: p.lastErr, Pending: p.seq != p.baseSeq}, true
}

// Program returns seg (a segment of project as the store returned it)
// compiled, from the keeper's ProgramCache: compiled once per version
// (id and updatedAt), whether or not the project is kept.
func (k *Keeper) Program(projectID string, seg filter.Segment) (*segmatch.Program, error) {
	return k.progs.Program(projectID, seg)
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
	err = k.first(id, p)
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

// first lists the project and builds its first classifier, on the
// caller's path (the first Get waits for it).
func (k *Keeper) first(id string, p *project) error {
	segs, err := listAll(k.ctx, k.st, id)
	if err != nil {
		return fmt.Errorf("keeper: list %s: %w", id, err)
	}
	p.mu.Lock()
	p.held = make(map[string]held, len(segs))
	p.overlay = map[string]change{}
	for _, s := range segs {
		p.apply(s)
	}
	p.dirty = false
	seq, active := p.seq, p.activeSegments()
	p.mu.Unlock()
	c, ids, err := k.buildSorted(active)
	if err != nil {
		k.log.Error("keeper: build failed", "project", id, "err", err)
		return fmt.Errorf("keeper: build %s: %w", id, err)
	}
	p.mu.Lock()
	p.builds++
	p.setBase(c, seq, ids)
	p.mu.Unlock()
	return nil
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

// Close stops every watcher and rebuild and waits for them (a build
// under way finishes first). Get fails afterwards with ErrClosed. It
// does not close the store.
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
