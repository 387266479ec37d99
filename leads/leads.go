// Package leads keeps each project's leads for the server (issue 16): in
// the project's store (store.LeadStore: every acknowledged write
// durable) and in an audience.Index with the project's active segments
// registered, so that members, counts and previews are answered from
// memory without a scan, and every lead entering or leaving a segment is
// an event that clients follow as a stream.
//
// A project's index is built on first use: its segments registered on
// the empty index, then its leads from the store, each classified as it
// is upserted (in the order they were first stored, so that pages of
// members keep their order across restarts), then the field paths its
// segments read indexed in one pass, so that previews find them; Warm
// builds every project's at start. A load causes no events. Writes of one project are serialized: the store first (the
// write is acknowledged only once stored), then the index, then the
// events, so events come in the order of the writes. A segment written
// through the API is registered before the write is answered
// (SegmentsChanged); one written elsewhere (another instance sharing a
// PostgreSQL store) is picked up from the store's change feed.
//
// Several instances sharing one PostgreSQL store share the segments and
// the stored leads, but each instance's index holds the leads written
// through it plus what it loaded at start: leads are not followed across
// instances (a restart reloads them all).
package leads

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Limits bounds what the hub accepts. Zero fields take the defaults; a
// negative MaxProjectLeads, MaxProjectBytes, MaxBulkLeads, MaxBulkBytes
// or MaxStreams means no limit.
type Limits struct {
	// MaxLeadBytes bounds one lead's JSON (a PUT body, a bulk line).
	MaxLeadBytes int
	// MaxBulkLeads bounds the leads of one bulk request.
	MaxBulkLeads int
	// MaxBulkBytes bounds the bytes of one bulk request's body (newlines
	// and blank lines included): the line that passes it stops the
	// request (ErrBulkTooLarge), the lines before it applied.
	MaxBulkBytes int64
	// MaxProjectLeads bounds the leads a project holds.
	MaxProjectLeads int
	// MaxProjectBytes bounds the JSON a project's leads hold in memory
	// (the index keeps every lead): with MaxProjectLeads alone, leads of
	// MaxLeadBytes each could take hundreds of GiB.
	MaxProjectBytes int
	// MaxStreams bounds a project's open event streams (each holds a
	// StreamQueue of events and a goroutine, and every write visits it).
	MaxStreams int
	// EventWindow is how many of a project's latest events are kept for
	// clients resuming a stream (Last-Event-ID).
	EventWindow int
	// StreamQueue is how many events wait for one stream's client before
	// it counts as too slow and is disconnected.
	StreamQueue int
}

// Defaults.
const (
	DefaultMaxLeadBytes    = 256 << 10
	DefaultMaxBulkLeads    = 1_000_000
	DefaultMaxBulkBytes    = 4 << 30 // as much as a project holds (DefaultMaxProjectBytes)
	DefaultMaxProjectLeads = 2_000_000
	DefaultMaxProjectBytes = 4 << 30
	DefaultMaxStreams      = 64
	DefaultEventWindow     = 10_000
	DefaultStreamQueue     = 4096
)

// Resolved returns l with zero fields replaced by the defaults.
func (l Limits) Resolved() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxLeadBytes, DefaultMaxLeadBytes)
	def(&l.MaxBulkLeads, DefaultMaxBulkLeads)
	if l.MaxBulkBytes == 0 {
		l.MaxBulkBytes = DefaultMaxBulkBytes
	}
	def(&l.MaxProjectLeads, DefaultMaxProjectLeads)
	def(&l.MaxProjectBytes, DefaultMaxProjectBytes)
	def(&l.MaxStreams, DefaultMaxStreams)
	def(&l.EventWindow, DefaultEventWindow)
	def(&l.StreamQueue, DefaultStreamQueue)
	if l.MaxLeadBytes < 0 {
		l.MaxLeadBytes = DefaultMaxLeadBytes
	}
	if l.EventWindow < 0 {
		l.EventWindow = 0
	}
	if l.StreamQueue < 1 {
		l.StreamQueue = 1
	}
	return l
}

// Hub is every project's leads, indexes and event logs.
type Hub struct {
	st    store.Store
	lim   Limits
	log   *slog.Logger
	epoch string

	ctx    context.Context // of loads and change feeds: ends with Close
	cancel context.CancelFunc

	now func() time.Time // the clock of load retries

	mu       sync.Mutex
	projects map[string]*project
	failed   map[string]loadFailure // projects whose last load failed
	closed   bool
	wg       sync.WaitGroup
}

// Retries of a failed project load: a project whose load failed is not
// loaded again before LoadRetryMin has passed, then twice as long after
// each failure in a row, up to LoadRetryMax; meanwhile its requests fail
// at once with a *LoadError (ErrUnavailable, 503 with Retry-After).
const (
	LoadRetryMin = time.Second
	LoadRetryMax = 30 * time.Second
)

// loadFailure is a project's failed loads in a row.
type loadFailure struct {
	n     int       // failures in a row
	until time.Time // no load before then
	err   error     // the last one's
}

// loadBackoff is how long after the n-th failure in a row a project is
// not loaded again.
func loadBackoff(n int) time.Duration {
	d := LoadRetryMin
	for i := 1; i < n && d < LoadRetryMax; i++ {
		d *= 2
	}
	return min(d, LoadRetryMax)
}

// project is one project's state.
type project struct {
	id    string
	ready chan struct{} // closed once loaded (err says how)
	err   error

	wmu  sync.Mutex // one write at a time: store, index, events
	ix   *audience.Index
	ev   *eventLog
	segs []filter.Segment // the registered segments (under wmu)
	// known is, for each segment id, the UpdatedAt of the latest state
	// of it that the registered segments reflect (under wmu): a change
	// no later than it needs no registration (see SegmentWritten).
	known map[string]time.Time

	registrations atomic.Int64 // registerSegments calls that succeeded (tests)
	feedEvents    atomic.Int64 // change feed events handled (tests)
}

// New makes a hub over st (which it does not close).
func New(st store.Store, lim Limits, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{st: st, lim: lim.Resolved(), log: log, ctx: ctx, cancel: cancel,
		epoch: strconv.FormatInt(time.Now().UnixNano(), 36),
		now:   time.Now, projects: map[string]*project{}, failed: map[string]loadFailure{}}
}

// Limits are the hub's limits, defaults filled in.
func (h *Hub) Limits() Limits { return h.lim }

// project returns the project's loaded state, loading it on first use
// (other callers wait for the same load). A failed load is forgotten,
// and the next call after its back-off (loadBackoff) tries again; the
// calls before fail with a *LoadError at once.
func (h *Hub) project(ctx context.Context, id string) (*project, error) {
	if err := store.CheckProject(id); err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	p := h.projects[id]
	if p == nil {
		if f, ok := h.failed[id]; ok {
			if wait := f.until.Sub(h.now()); wait > 0 {
				h.mu.Unlock()
				return nil, &LoadError{Project: id, Retry: wait, Err: f.err}
			}
		}
		p = &project{id: id, ready: make(chan struct{}), known: map[string]time.Time{}}
		h.projects[id] = p
		h.wg.Add(1)
		go h.load(p)
	}
	h.mu.Unlock()
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	return p, nil
}

// loaded returns the project's state if it is loaded (nil otherwise).
func (h *Hub) loaded(id string) *project {
	h.mu.Lock()
	p := h.projects[id]
	h.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.ready:
		if p.err == nil {
			return p
		}
	default:
	}
	return nil
}

// load builds a project's index: its segments' change feed first (so
// that no change is missed), its segments registered, then its leads in
// their order (see build).
func (h *Hub) load(p *project) {
	defer h.wg.Done()
	start := time.Now()
	err := h.build(p)
	if err != nil {
		h.mu.Lock()
		f := h.failed[p.id]
		f.n++
		retry := loadBackoff(f.n)
		f.until, f.err = h.now().Add(retry), err
		if h.projects[p.id] == p {
			delete(h.projects, p.id)
			h.failed[p.id] = f
		}
		h.mu.Unlock()
		if cerr := h.isClosed(err); errors.Is(cerr, ErrClosed) {
			p.err = cerr
		} else {
			p.err = &LoadError{Project: p.id, Retry: retry, Err: err}
		}
		h.log.Error("loading a project's leads", "project", p.id, "err", err, "failures", f.n, "retry_in", retry)
	} else if n := p.ix.Len(); n > 0 {
		h.log.Info("leads loaded", "project", p.id, "leads", n, "segments", len(p.ix.Segments()), "duration", time.Since(start))
	}
	if err == nil {
		h.mu.Lock()
		delete(h.failed, p.id)
		h.mu.Unlock()
	}
	close(p.ready)
}

// build loads p; a failure releases the change feed it subscribed to.
func (h *Hub) build(p *project) (err error) {
	fctx, stop := context.WithCancel(h.ctx)
	defer func() {
		if err != nil {
			stop() // the subscription ends with it
		}
	}()
	feed, err := h.st.Watch(fctx, p.id)
	if err != nil {
		return err
	}
	p.ix = audience.New(audience.Options{MaxContactBytes: h.lim.MaxLeadBytes + maxIDGrowth})
	p.ev = newEventLog(h.lim.EventWindow, h.lim.StreamQueue, h.lim.MaxStreams)
	// The segments first, on the empty index (nothing to backfill, no
	// events), then each lead classified as it is loaded: its memberships
	// come with its upsert. Registering the segments over the loaded leads
	// instead would backfill each segment and diff its members into an
	// event each (every membership of every lead, sorted by id: minutes
	// for a million leads), events no client could tell from the ones the
	// leads caused before the restart.
	if err := h.registerSegments(h.ctx, p); err != nil {
		return err
	}
	skipped := 0
	err = h.st.ForEachLead(h.ctx, p.id, func(id string, raw []byte) error {
		if _, err := p.ix.Upsert(raw); err != nil {
			// Stored leads were checked when written: only a lead stored
			// under a larger MaxLeadBytes lands here.
			skipped++
			h.log.Warn("a stored lead is not indexed", "project", p.id, "lead", id, "err", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if skipped > 0 {
		h.log.Warn("stored leads left out of the index", "project", p.id, "leads", skipped)
	}
	// The paths the segments read, indexed in one pass now rather than by
	// the first previews (a pass each).
	p.ix.IndexPaths(p.segs)
	h.wg.Add(1)
	go h.follow(p, feed)
	return nil
}

// follow re-registers a project's segments when the store says they
// changed: writes made elsewhere than this API (the API's own are
// registered before they are answered, SegmentWritten, and their events
// found reflected already). Events that arrive together are taken as
// one change.
func (h *Hub) follow(p *project, feed <-chan store.Event) {
	defer h.wg.Done()
	for ev := range feed {
		evs := []store.Event{ev}
		for drained := false; !drained; {
			select {
			case e, ok := <-feed:
				if !ok {
					return
				}
				evs = append(evs, e)
			default:
				drained = true
			}
		}
		if err := h.feedChanged(p, evs); err != nil && h.ctx.Err() == nil {
			h.log.Error("registering a project's changed segments", "project", p.id, "err", err)
		}
		p.feedEvents.Add(int64(len(evs)))
	}
}

// feedChanged registers the project's segments again unless every one
// of evs is reflected already.
func (h *Hub) feedChanged(p *project, evs []store.Event) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	stale := false
	for _, e := range evs {
		if e.Type == store.EventResync || !p.reflects(e.Segment) {
			stale = true
			break
		}
	}
	if !stale {
		return nil
	}
	if err := h.registerSegments(h.ctx, p); err != nil {
		return err
	}
	// The segments were read after every one of evs was committed.
	for _, e := range evs {
		if e.Type != store.EventResync {
			p.saw(e.Segment)
		}
	}
	return nil
}

// reflects reports whether the registered segments reflect seg's state
// or a later one (under wmu).
func (p *project) reflects(seg filter.Segment) bool {
	t, ok := p.known[seg.ID]
	return ok && !t.Before(seg.UpdatedAt)
}

// saw records that the registered segments reflect seg's state (under
// wmu).
func (p *project) saw(seg filter.Segment) {
	if t, ok := p.known[seg.ID]; !ok || t.Before(seg.UpdatedAt) {
		p.known[seg.ID] = seg.UpdatedAt
	}
}

// SegmentWritten registers the project's segments again after seg was
// written (created, updated or deleted) through this hub's server, when
// its index is loaded and does not reflect that write yet (the change
// feed may have registered it first): once per write, backfill and
// enter/exit events published before it returns.
func (h *Hub) SegmentWritten(ctx context.Context, project string, seg filter.Segment) error {
	p := h.loaded(project)
	if p == nil {
		return nil
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.reflects(seg) {
		return nil
	}
	if err := h.registerSegments(ctx, p); err != nil {
		return err
	}
	p.saw(seg) // committed before the segments were read
	return nil
}

// SegmentsChanged registers the project's active segments again, when
// its index is loaded (one that is not will read them when it is):
// every new or edited segment is backfilled and its enter/exit events
// published before it returns.
func (h *Hub) SegmentsChanged(ctx context.Context, project string) error {
	p := h.loaded(project)
	if p == nil {
		return nil
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return h.registerSegments(ctx, p)
}

// registerSegments reads the project's active segments and registers
// them (under p.wmu, or before the project is ready). A segment that no
// longer compiles (stored before a bound it now exceeds) is left out.
func (h *Hub) registerSegments(ctx context.Context, p *project) error {
	var segs []filter.Segment
	opts := store.ListOptions{Limit: store.MaxLimit, Sort: store.SortCreatedAt, Direction: store.Ascending}
	for {
		page, total, err := h.st.List(ctx, p.id, opts)
		if err != nil {
			return err
		}
		segs = append(segs, page...)
		if len(page) == 0 || len(segs) >= total {
			break
		}
		opts.Page++
	}
	listed := segs
	evs, err := p.ix.SetSegments(segs)
	if err != nil {
		kept := segs[:0:0]
		var left []string
		for _, s := range segs {
			if _, cerr := segmatch.Compile(s); cerr != nil {
				left = append(left, s.ID)
				continue
			}
			kept = append(kept, s)
		}
		if len(left) == 0 {
			return err
		}
		h.log.Warn("stored segments left out of the audience index: they no longer compile", "project", p.id, "segments", left)
		if evs, err = p.ix.SetSegments(kept); err != nil {
			return err
		}
		segs = kept
	}
	p.segs = segs
	for _, s := range listed {
		p.saw(s)
	}
	p.registrations.Add(1)
	p.ev.publish(evs)
	return nil
}

// Warm loads every project that holds leads, one after the other, so
// that the first request of each does not wait for its index. It
// returns when all are loaded (or ctx is done), with the first error.
func (h *Hub) Warm(ctx context.Context) error {
	ps, err := h.st.LeadProjects(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, id := range ps {
		if _, err := h.project(ctx, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Stats is what one project's index holds.
type Stats struct {
	Leads    int
	Segments int
	Streams  int
	Index    audience.Stats
}

// Stats reports a project's index (loading it).
func (h *Hub) Stats(ctx context.Context, project string) (Stats, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return Stats{}, err
	}
	is := p.ix.Stats()
	return Stats{Leads: is.Contacts, Segments: is.Segments, Streams: p.ev.streams(), Index: is}, nil
}

// CloseStreams ends every event stream (at server shutdown, so that
// in-flight streaming requests finish); new streams still start.
func (h *Hub) CloseStreams() {
	h.mu.Lock()
	ps := make([]*project, 0, len(h.projects))
	for _, p := range h.projects {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	for _, p := range ps {
		select {
		case <-p.ready:
			if p.err == nil {
				p.ev.mu.Lock()
				for s := range p.ev.subs {
					p.ev.drop(s)
				}
				p.ev.mu.Unlock()
			}
		default:
		}
	}
}

// Close ends every stream, stops following the store and waits for the
// loads in progress. Later calls fail with ErrClosed.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	ps := make([]*project, 0, len(h.projects))
	for _, p := range h.projects {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	for _, p := range ps {
		if p.err == nil && p.ev != nil {
			p.ev.close()
		}
	}
	return nil
}

// isClosed maps a store or context failure at close to ErrClosed.
func (h *Hub) isClosed(err error) error {
	if h.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, store.ErrClosed)) {
		return ErrClosed
	}
	return err
}
