package auth

import (
	"context"
	"sync/atomic"
	"time"
)

// gate bounds the bcrypt comparisons running at once, with a bounded
// wait and a bounded number of waiters.
type gate struct {
	slots   chan struct{} // nil: unbounded
	wait    time.Duration
	waiting atomic.Int64
	maxWait int64
}

func newGate(l Limits) *gate {
	g := &gate{wait: l.Wait, maxWait: int64(l.Waiting)}
	if l.Concurrency > 0 {
		g.slots = make(chan struct{}, l.Concurrency)
	}
	return g
}

// enter takes a slot, or returns a *LimitError (ErrBusy), or ctx's error.
func (g *gate) enter(ctx context.Context) error {
	if g.slots == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	busy := &LimitError{Err: ErrBusy, Retry: busyRetry}
	if g.wait <= 0 {
		return busy
	}
	if n := g.waiting.Add(1); g.maxWait >= 0 && n > g.maxWait {
		g.waiting.Add(-1)
		return busy
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-t.C:
		return busy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) leave() {
	if g.slots != nil {
		<-g.slots
	}
}

// tarpit delays rate-limited answers, a bounded number at once.
type tarpit struct {
	delay time.Duration // <= 0: none
	max   int64
	held  atomic.Int64
}

// hold waits min(delay, retry), or until ctx ends, unless max answers
// are already held, and returns how long it waited.
func (t *tarpit) hold(ctx context.Context, retry time.Duration) time.Duration {
	d := min(t.delay, retry)
	if d <= 0 {
		return 0
	}
	if t.held.Add(1) > t.max {
		t.held.Add(-1)
		return 0
	}
	defer t.held.Add(-1)
	start := time.Now()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
	return time.Since(start)
}
