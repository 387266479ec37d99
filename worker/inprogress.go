package worker

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keepInProgress tells JetStream at once, then every interval, that msgs
// are still being worked on (msg.InProgress resets each one's ack wait),
// so that a batch whose classification and commit outlast the consumer's
// AckWait is not redelivered to another worker meanwhile. (At once: the
// first messages of a fetch waited up to its 250 ms for the others.) The returned stop ends it and
// returns once no InProgress is in flight any more (so none follows the
// batch's acks or naks); calling it again does nothing.
func keepInProgress(msgs []jetstream.Msg, interval time.Duration) (stop func()) {
	interval = max(interval, time.Millisecond)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for first := true; ; first = false {
			if !first {
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
			for _, m := range msgs {
				select {
				case <-done:
					return
				default:
				}
				_ = m.InProgress() // a lost one is at worst a redelivery, which is harmless
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); <-exited })
	}
}
