package leads

import (
	"context"
	"strconv"
	"strings"
	"sync"
)

// EventFeed is a backend's enter/exit events of one project, in the order
// the backend holds them, each with its Seq there (a JetStream stream
// sequence, say), so that a client may resume after any of them.
type EventFeed interface {
	// Next blocks until the next event; an error ends the feed (ctx
	// done, the backend gone).
	Next(ctx context.Context) (Event, error)
	Close()
}

// relayEventPrefix opens a relayed event's id: the backend's Seq is the
// same across servers and restarts, so any server resumes it.
const relayEventPrefix = "s-"

// EventID is a relayed event's id on the wire, "s-SEQ".
func (r *Relay) EventID(e Event) string { return relayEventPrefix + strconv.FormatUint(e.Seq, 10) }

// relayEvents are the relay's open streams, an eventLog a project
// (without a window: the backend keeps the events) bounding them.
type relayEvents struct {
	mu     sync.Mutex
	logs   map[string]*eventLog
	ctx    context.Context
	cancel context.CancelFunc
}

func (r *Relay) eventLog(project string) *eventLog {
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	if r.ev.logs == nil {
		r.ev.logs = map[string]*eventLog{}
		r.ev.ctx, r.ev.cancel = context.WithCancel(context.Background())
	}
	l := r.ev.logs[project]
	if l == nil {
		l = newEventLog(0, r.lim.StreamQueue, r.lim.MaxStreams)
		r.ev.logs[project] = l
	}
	return l
}

// Subscribe starts a stream of the project's events from the backend
// (of one segment when segment is not ""), after lastEventID ("" for
// none: from now on). An id that is not a relayed one, or that the
// backend no longer holds, sets Stream.Reset and starts from now on.
func (r *Relay) Subscribe(ctx context.Context, project, lastEventID, segment string) (*Stream, error) {
	var after uint64
	reset := false
	if lastEventID != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(lastEventID, relayEventPrefix), 10, 64)
		if err != nil || !strings.HasPrefix(lastEventID, relayEventPrefix) || n == 0 {
			reset = true
		} else {
			after = n
		}
	}
	l := r.eventLog(project)
	r.ev.mu.Lock()
	pctx, cancel := context.WithCancel(r.ev.ctx)
	r.ev.mu.Unlock()
	s, err := l.subscribeFed(0, false, segment, cancel)
	if err != nil || s.stop == nil { // too many streams, or the relay closed
		cancel()
		return s, err
	}
	feed, missed, err := r.b.Events(ctx, project, after)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Reset = reset || missed
	// The pump: the backend holds the events, so a client slower than
	// them is waited for (the server's write timeout ends one that does
	// not read at all), never dropped as the Hub drops it; the pump
	// closes the channel when the feed, the stream or the relay ends.
	go func() {
		defer close(s.ch)
		defer feed.Close()
		for {
			e, err := feed.Next(pctx)
			if err != nil {
				break
			}
			if segment != "" && e.Segment != segment {
				continue
			}
			select {
			case s.ch <- e:
				continue
			case <-pctx.Done():
			}
			break
		}
		l.mu.Lock()
		l.drop(s)
		l.mu.Unlock()
	}()
	return s, nil
}

// CloseStreams ends every open stream (at shutdown: the server's wait for
// requests in flight would wait for them).
func (r *Relay) CloseStreams() {
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	if r.ev.cancel != nil {
		r.ev.cancel()
	}
	for _, l := range r.ev.logs {
		l.close()
	}
	r.ev.logs = nil
}
