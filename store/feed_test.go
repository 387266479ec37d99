package store

import (
	"context"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
)

func ev(n uint64) Event {
	return Event{Type: EventUpdated, Project: "p", Segment: filter.Segment{ID: "x"}, Version: n}
}

// drain returns what is queued on ch now.
func drain(ch <-chan Event) []Event {
	var out []Event
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestFeedOverflow(t *testing.T) {
	f := NewFeed(3)
	ch, err := f.Subscribe(t.Context(), "p")
	if err != nil {
		t.Fatal(err)
	}
	// 10 events into a buffer of 3: the first 3, then one resync; the
	// rest are dropped and Publish never blocks.
	for i := uint64(1); i <= 10; i++ {
		f.Publish(ev(i))
	}
	got := drain(ch)
	if len(got) != 4 || got[0].Version != 1 || got[2].Version != 3 || got[3].Type != EventResync || got[3].Project != "p" {
		t.Fatalf("got %+v", got)
	}
	// Delivery resumes, and a second overflow gets a second resync.
	for i := uint64(11); i <= 15; i++ {
		f.Publish(ev(i))
	}
	got = drain(ch)
	if len(got) != 4 || got[0].Version != 11 || got[3].Type != EventResync {
		t.Fatalf("second round: %+v", got)
	}
}

func TestFeedOneResyncWhilePending(t *testing.T) {
	f := NewFeed(2)
	ch, _ := f.Subscribe(t.Context(), "p")
	f.Publish(ev(1))
	f.Publish(ev(2))
	f.Publish(ev(3)) // dropped: resync queued
	<-ch             // the consumer reads one event; the resync is still queued
	f.Publish(ev(4)) // dropped: the queued resync covers it
	f.Publish(ev(5))
	got := drain(ch)
	if len(got) != 2 || got[0].Version != 2 || got[1].Type != EventResync {
		t.Fatalf("got %+v, want event 2 then one resync", got)
	}
	// The resync was received: a later loss needs a new one.
	f.Publish(ev(6))
	f.Publish(ev(7))
	f.Publish(ev(8))
	got = drain(ch)
	if len(got) != 3 || got[0].Version != 6 || got[1].Version != 7 || got[2].Type != EventResync {
		t.Fatalf("got %+v", got)
	}
}

func TestFeedProjectsAndClose(t *testing.T) {
	f := NewFeed(4)
	ctx, cancel := context.WithCancel(t.Context())
	a, _ := f.Subscribe(ctx, "p")
	b, _ := f.Subscribe(t.Context(), "q")
	f.Publish(ev(1))
	if len(drain(b)) != 0 {
		t.Fatal("q's subscriber got p's event")
	}
	if len(drain(a)) != 1 {
		t.Fatal("p's subscriber missed its event")
	}
	cancel()
	select {
	case _, ok := <-a:
		if ok {
			t.Fatal("event after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
	if n := f.Subscribers("p"); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
	f.Close()
	if _, ok := <-b; ok {
		t.Fatal("channel open after Close")
	}
	if _, err := f.Subscribe(t.Context(), "p"); err != ErrClosed {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	f.Publish(ev(2)) // harmless
	f.Close()        // harmless
}

func TestFeedResyncAll(t *testing.T) {
	f := NewFeed(1)
	p, _ := f.Subscribe(t.Context(), "p")
	q, _ := f.Subscribe(t.Context(), "q")
	f.ResyncAll()
	// A resync already queued covers the next loss.
	f.Publish(Event{Type: EventResync, Project: "p"})
	f.Publish(ev(1))
	gp, gq := drain(p), drain(q)
	if len(gp) != 1 || gp[0].Type != EventResync || gp[0].Project != "p" {
		t.Fatalf("p: %+v", gp)
	}
	if len(gq) != 1 || gq[0].Type != EventResync || gq[0].Project != "q" {
		t.Fatalf("q: %+v", gq)
	}
}
