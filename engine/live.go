package engine

import "sync/atomic"

// Live holds the current Engine of a sender whose segments change while
// classifications run: readers Load without locking, a writer Swaps in a
// newly compiled Engine atomically. A classification that loaded the old
// Engine finishes on it.
type Live struct {
	p atomic.Pointer[Engine]
}

// NewLive starts with e (which may be nil until the first Swap).
func NewLive(e *Engine) *Live {
	l := &Live{}
	if e != nil {
		l.p.Store(e)
	}
	return l
}

// Load returns the current Engine (nil before the first one).
func (l *Live) Load() *Engine { return l.p.Load() }

// Swap installs e and returns the Engine it replaced.
func (l *Live) Swap(e *Engine) *Engine { return l.p.Swap(e) }
