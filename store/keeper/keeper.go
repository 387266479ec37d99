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
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
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
