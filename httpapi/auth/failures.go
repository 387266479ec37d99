package auth

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// failures is a token bucket per key (an address or an email) of the
// failed checks it may still make, in a bounded LRU: at most max keys are
// remembered, the least recently touched forgotten first. A key with a
// full bucket is not remembered at all, so honest traffic adds nothing.
type failures[K comparable] struct {
	mu    sync.Mutex
	burst float64 // bucket size; <= 0: no limit
	rate  float64 // tokens regained per second
	max   int
	lru   *list.List // of *bucket[K], most recent first
	byKey map[K]*list.Element
}

type bucket[K comparable] struct {
	key    K
	tokens float64
	last   time.Time
}

func newFailures[K comparable](burst int, window time.Duration, max int) *failures[K] {
	f := &failures[K]{max: max, lru: list.New(), byKey: map[K]*list.Element{}}
	if burst > 0 && window > 0 {
		f.burst = float64(burst)
		f.rate = float64(burst) / window.Seconds()
	}
	if f.max <= 0 {
		f.max = DefaultTracked
	}
	return f
}

func (f *failures[K]) refill(b *bucket[K], now time.Time) {
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(f.burst, b.tokens+d*f.rate)
	}
	b.last = now
}

// take reserves one failure for key: true, or false and the wait until
// one is available. A check that then succeeds gives it back (refund).
func (f *failures[K]) take(key K, now time.Time) (time.Duration, bool) {
	if f.burst <= 0 {
		return 0, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var b *bucket[K]
	if e := f.byKey[key]; e != nil {
		b = e.Value.(*bucket[K])
		f.refill(b, now)
		f.lru.MoveToFront(e)
	} else {
		for f.lru.Len() >= f.max {
			old := f.lru.Back()
			delete(f.byKey, old.Value.(*bucket[K]).key)
			f.lru.Remove(old)
		}
		b = &bucket[K]{key: key, tokens: f.burst, last: now}
		f.byKey[key] = f.lru.PushFront(b)
	}
	if b.tokens < 1 { // the wait rounded up: a refusal never says "retry now"
		return time.Duration(math.Ceil((1 - b.tokens) / f.rate * float64(time.Second))), false
	}
	b.tokens--
	return 0, true
}

// refund gives back a failure reserved by take for a check that succeeded
// (or was not made).
func (f *failures[K]) refund(key K, now time.Time) {
	if f.burst <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.byKey[key]
	if e == nil {
		return
	}
	b := e.Value.(*bucket[K])
	f.refill(b, now)
	b.tokens = min(f.burst, b.tokens+1)
	if b.tokens >= f.burst {
		delete(f.byKey, key)
		f.lru.Remove(e)
	}
}

// len is the number of keys remembered.
func (f *failures[K]) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len()
}
