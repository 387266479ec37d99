// Package memory is a store.Store kept in maps: fast, and gone when the
// process exits. It is the reference implementation for tests and for
// servers that load their segments from elsewhere.
package memory

import (
	"context"
	"sync"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Store is an in-memory store.Store. Writes are serialised by one lock,
// under which their events are published, so each project's events come
// in commit order.
type Store struct {
	mu       sync.RWMutex
	projects map[string]map[string]*store.Record // project → id → record
	usage    map[string]store.Usage              // project → its active segments
	leads    map[string]*leadsOf                 // project → its leads
	limits   store.Limits
	closed   bool

	ids  store.IDGen
	feed *store.Feed
	now  func() time.Time
}

var _ store.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock for ids and timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithWatchBuffer sets how many events a Watch subscription buffers
// (default store.DefaultWatchBuffer).
func WithWatchBuffer(n int) Option { return func(s *Store) { s.feed = store.NewFeed(n) } }

// WithLimits sets the limits of each project (default store.DefaultLimits;
// zero fields take the defaults).
func WithLimits(l store.Limits) Option { return func(s *Store) { s.limits = l.Resolved() } }

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{projects: map[string]map[string]*store.Record{}, usage: map[string]store.Usage{},
		leads: map[string]*leadsOf{}, limits: store.DefaultLimits, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.feed == nil {
		s.feed = store.NewFeed(0)
	}
	return s
}

// begin checks what every call checks first.
func begin(ctx context.Context, project string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return store.CheckProject(project)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, project, createdBy string, seg filter.Segment) (filter.Segment, error) {
	if err := begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return filter.Segment{}, store.ErrClosed
	}
	now := s.now()
	rec, err := store.NewRecord(project, createdBy, s.ids.Next(now), seg, now)
	if err != nil {
		return filter.Segment{}, err
	}
	if err := s.limits.Check(project, s.usage[project], nil, rec); err != nil {
		return filter.Segment{}, err
	}
	s.usage[project] = s.usage[project].Plus(&rec)
	m := s.projects[project]
	if m == nil {
		m = map[string]*store.Record{}
		s.projects[project] = m
	}
	m[rec.Segment.ID] = &rec
	s.feed.Publish(rec.Event(store.EventCreated))
	return store.CloneSegment(rec.Segment), nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, project, id string) (filter.Segment, error) {
	if err := begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return filter.Segment{}, store.ErrClosed
	}
	rec := s.projects[project][id]
	if rec == nil || !rec.Active() {
		return filter.Segment{}, store.ErrNotFound
	}
	return store.CloneSegment(rec.Segment), nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	if err := begin(ctx, project); err != nil {
		return nil, 0, err
	}
	opts, err := opts.Check()
	if err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, 0, store.ErrClosed
	}
	// Sort shallow copies outside the lock; clone only the page.
	var active []filter.Segment
	for _, rec := range s.projects[project] {
		if rec.Active() {
			active = append(active, rec.Segment)
		}
	}
	s.mu.RUnlock()
	page, total := store.ListPage(active, opts)
	out := make([]filter.Segment, len(page))
	for i := range page {
		out[i] = store.CloneSegment(page[i])
	}
	return out, total, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, project, id string, upd store.SegmentUpdate) (filter.Segment, error) {
	return s.modify(ctx, project, id, store.EventUpdated, func(r *store.Record) (store.Record, bool, error) {
		return r.Apply(upd, s.now())
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, project, id string) (filter.Segment, error) {
	return s.modify(ctx, project, id, store.EventDeleted, func(r *store.Record) (store.Record, bool, error) {
		next, changed := r.Delete(s.now())
		return next, changed, nil
	})
}

// modify changes one existing segment under the write lock: change makes
// the next record; when it changed something, it replaces the stored one
// and is published as an event of kind.
func (s *Store) modify(ctx context.Context, project, id string, kind store.EventType,
	change func(*store.Record) (store.Record, bool, error)) (filter.Segment, error) {
	if err := begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return filter.Segment{}, store.ErrClosed
	}
	rec := s.projects[project][id]
	if rec == nil {
		return filter.Segment{}, store.ErrNotFound
	}
	next, changed, err := change(rec)
	if err != nil {
		return filter.Segment{}, err
	}
	if changed {
		if err := s.limits.Check(project, s.usage[project], rec, next); err != nil {
			return filter.Segment{}, err
		}
		s.usage[project] = s.usage[project].Change(rec, next)
		*rec = next
		s.feed.Publish(rec.Event(kind))
	}
	return store.CloneSegment(rec.Segment), nil
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, project string) (<-chan store.Event, error) {
	if err := begin(ctx, project); err != nil {
		return nil, err
	}
	// Subscribing under the write lock orders it against writes: every
	// write that commits after Watch returns is delivered.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	return s.feed.Subscribe(ctx, project)
}

// Close implements store.Store: it drops the data and closes every Watch
// channel.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.projects, s.usage, s.leads = nil, nil, nil
	s.feed.Close()
	return nil
}
