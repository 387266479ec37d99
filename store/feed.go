package store

import (
	"context"
	"sync"
)

// DefaultWatchBuffer is how many events a Watch subscription holds before
// the subscriber counts as slow (see Store.Watch).
const DefaultWatchBuffer = 256

// Feed fans committed changes out to Watch subscribers. Implementations
// call Publish for each committed write, in commit order (holding the lock
// that orders their writes), and Publish never blocks: a subscriber whose
// buffer is full loses events and gets one EventResync instead.
//
// The zero Feed is not usable; use NewFeed.
type Feed struct {
	mu     sync.Mutex
	size   int // events a subscription buffers; its channel has one more slot
	subs   map[string]map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	project string
	ch      chan Event
	// lastResync: the last value sent on ch was an EventResync. While ch
	// is not empty that resync has not been received yet (ch is FIFO), so
	// it still covers any event dropped now.
	lastResync bool
	stop       func() bool // stops the ctx.Done hook
}

// NewFeed returns a feed whose subscriptions buffer size events
// (DefaultWatchBuffer when size < 1).
func NewFeed(size int) *Feed {
	if size < 1 {
		size = DefaultWatchBuffer
	}
	return &Feed{size: size, subs: map[string]map[*subscriber]struct{}{}}
}

// Subscribe registers a subscriber for project's events. Its channel is
// closed when ctx is done or the feed is closed.
func (f *Feed) Subscribe(ctx context.Context, project string) (<-chan Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	// One slot beyond size is reserved for the EventResync that replaces
	// dropped events, so queuing it never blocks.
	s := &subscriber{project: project, ch: make(chan Event, f.size+1)}
	m := f.subs[project]
	if m == nil {
		m = map[*subscriber]struct{}{}
		f.subs[project] = m
	}
	m[s] = struct{}{}
	s.stop = context.AfterFunc(ctx, func() { f.unsubscribe(s) })
	return s.ch, nil
}

func (f *Feed) unsubscribe(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.subs[s.project]
	if _, ok := m[s]; !ok {
		return // already gone (feed closed)
	}
	delete(m, s)
	if len(m) == 0 {
		delete(f.subs, s.project)
	}
	close(s.ch)
}

// Publish delivers ev to the subscribers of ev.Project without blocking.
func (f *Feed) Publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs[ev.Project] {
		f.send(s, ev)
	}
}

// ResyncAll queues an EventResync for every subscriber of every project,
// for a loss whose project is unknown (see Store.Watch).
func (f *Feed) ResyncAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for project, m := range f.subs {
		for s := range m {
			f.send(s, Event{Type: EventResync, Project: project})
		}
	}
}

// send queues ev for s, or drops it and queues a resync when s is full.
// Only Publish sends (under f.mu), so the lengths seen here can only
// shrink concurrently, never grow.
func (f *Feed) send(s *subscriber, ev Event) {
	if len(s.ch) < f.size {
		s.ch <- ev
		s.lastResync = ev.Type == EventResync
		return
	}
	// len is read again on purpose: the subscriber may have drained ch
	// since the check above, the resync included, and then this loss
	// needs a resync of its own.
	if s.lastResync && len(s.ch) > 0 {
		return // an unreceived resync already covers this loss
	}
	select {
	case s.ch <- Event{Type: EventResync, Project: s.project}:
		s.lastResync = true
	default: // cannot happen: the reserved slot is free (see Subscribe)
	}
}

// Subscribers returns how many subscriptions project has (for tests and
// metrics).
func (f *Feed) Subscribers(project string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[project])
}

// Close closes every subscription; later Subscribe calls fail with
// ErrClosed.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for _, m := range f.subs {
		for s := range m {
			s.stop()
			close(s.ch)
		}
	}
	f.subs = nil
}
