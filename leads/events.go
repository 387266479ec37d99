package leads

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/segmatch/segmatch/audience"
)

// Event is one lead entering or leaving one segment of a project, with
// its place in the project's event sequence.
type Event struct {
	Seq     uint64
	Lead    string
	Segment string
	Entered bool
}

// eventLog is a project's recent events (a ring of Limits.EventWindow)
// and its live streams. Publishing never waits for a stream: a stream
// whose queue is full is closed (the client is too slow), and resumes,
// when it comes back, from the ring.
type eventLog struct {
	mu     sync.Mutex
	ring   []Event // grows up to window, then wraps
	window int
	start  int    // index of the oldest event in ring
	next   uint64 // the Seq of the next event; the first is 1
	queue  int    // a stream's queue
	max    int    // streams open at once (<= 0: no bound)
	subs   map[*Stream]struct{}
	closed bool
}

func newEventLog(window, queue, max int) *eventLog {
	return &eventLog{window: window, queue: queue, max: max, next: 1, subs: map[*Stream]struct{}{}}
}

// publish appends events and hands each to the streams that want it.
func (l *eventLog) publish(evs []audience.Event) {
	if len(evs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range evs {
		e := Event{Seq: l.next, Lead: a.Contact, Segment: a.Segment, Entered: a.Entered}
		l.next++
		if len(l.ring) < l.window {
			l.ring = append(l.ring, e)
		} else if l.window > 0 {
			l.ring[l.start] = e
			l.start = (l.start + 1) % l.window
		}
		for s := range l.subs {
			l.deliver(s, e)
		}
	}
}

// deliver hands e to s when s wants it (under mu); a stream whose queue
// is full is too slow: it is disconnected, never waited for. It reports
// whether s is still open.
func (l *eventLog) deliver(s *Stream, e Event) bool {
	if _, ok := l.subs[s]; !ok {
		return false
	}
	if s.segment != "" && s.segment != e.Segment {
		return true
	}
	select {
	case s.ch <- e:
		return true
	default:
		s.overflow = true
		l.drop(s)
		return false
	}
}

// oldest is the Seq of the oldest event kept (next when none).
func (l *eventLog) oldest() uint64 { return l.next - uint64(len(l.ring)) }

// drop ends a stream (under mu).
func (l *eventLog) drop(s *Stream) {
	if _, ok := l.subs[s]; ok {
		delete(l.subs, s)
		if s.stop == nil { // a relayed stream's channel is its pump's to close
			close(s.ch)
		}
	}
}

// subscribe starts a stream after event after (0: from now on, no
// backlog). resumable says whether after is within the window.
func (l *eventLog) subscribe(after uint64, resume bool, segment string) (*Stream, error) {
	return l.subscribeFed(after, resume, segment, nil)
}

// subscribeFed is subscribe for a stream fed by a pump of its own (a
// Relay's): stop ends the pump, which closes the channel. On a closed
// log the stream comes back ended, without stop: start no pump for it.
func (l *eventLog) subscribeFed(after uint64, resume bool, segment string, stop func()) (*Stream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && len(l.subs) >= l.max && !l.closed {
		return nil, fmt.Errorf("%w: %d; close one first", ErrTooManyStreams, l.max)
	}
	s := &Stream{log: l, segment: segment, ch: make(chan Event, l.queue)}
	if resume {
		if after+1 < l.oldest() || after >= l.next {
			s.Reset = true // gone from the window, or never issued
		} else {
			for i := range l.ring {
				e := l.ring[(l.start+i)%len(l.ring)]
				if e.Seq > after && (segment == "" || e.Segment == segment) {
					s.Backlog = append(s.Backlog, e)
				}
			}
		}
	}
	if l.closed {
		close(s.ch)
		return s, nil
	}
	s.stop = stop
	l.subs[s] = struct{}{}
	return s, nil
}

func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for s := range l.subs {
		l.drop(s)
	}
}

func (l *eventLog) streams() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// Stream is one client's view of a project's events: what it missed
// since the id it resumed from (Backlog), then every event as it
// happens (C).
type Stream struct {
	// Reset: the id resumed from is no longer in the window (or is of
	// an earlier run of the server): events were missed, and the client
	// must read the counts and members again.
	Reset bool
	// Backlog is the events after the id resumed from, in order.
	Backlog []Event

	log      *eventLog
	segment  string
	ch       chan Event
	overflow bool   // under log.mu
	stop     func() // ends what feeds the stream (a Relay's), or nil
}

// C delivers the events. It is closed when the client fell too far
// behind (Overflowed), when the hub closes, or after Close.
func (s *Stream) C() <-chan Event { return s.ch }

// Overflowed reports whether the stream was ended because its queue was
// full.
func (s *Stream) Overflowed() bool {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.overflow
}

// Close ends the stream.
func (s *Stream) Close() {
	s.log.mu.Lock()
	s.log.drop(s)
	s.log.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
}

// EventID is an event's id on the wire: the hub's epoch (one per run of
// the server) and the event's Seq, "epoch-seq".
func (h *Hub) EventID(e Event) string { return h.epoch + "-" + strconv.FormatUint(e.Seq, 10) }

// parseEventID reads an id given back (Last-Event-ID). ok is false for
// anything that is not an id of this run (then the client resets).
func (h *Hub) parseEventID(id string) (seq uint64, ok bool) {
	ep, n, found := strings.Cut(id, "-")
	if !found || ep != h.epoch {
		return 0, false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	return seq, err == nil
}
