package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

func testWatch(t *testing.T, _ Harness, s store.Store) {
	before := mustCreate(t, s, ProjectA, "before") // not delivered: Watch shows later changes
	ch, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	ch2, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}

	a := mustCreate(t, s, ProjectA, "a")
	u, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("a2")})
	if err != nil {
		t.Fatal(err)
	}
	// Writes that change nothing publish nothing.
	if _, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("x"), IfUpdatedAt: a.UpdatedAt}); err == nil {
		t.Fatal("stale update succeeded")
	}
	if _, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("")}); err == nil {
		t.Fatal("invalid update succeeded")
	}
	if _, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Delete(t.Context(), ProjectA, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(t.Context(), ProjectA, a.ID); err != nil {
		t.Fatal(err)
	}
	marker := mustCreate(t, s, ProjectA, "marker")

	want := []struct {
		typ     store.EventType
		seg     filter.Segment
		version uint64
	}{
		{store.EventCreated, a, 1},
		{store.EventUpdated, u, 2},
		{store.EventDeleted, d, 3},
		{store.EventCreated, marker, 1},
	}
	for _, c := range []<-chan store.Event{ch, ch2} {
		for i, w := range want {
			ev := recv(t, c)
			if ev.Type != w.typ || ev.Project != ProjectA || ev.Version != w.version {
				t.Fatalf("event %d: %v %s v%d, want %v %s v%d", i, ev.Type, ev.Project, ev.Version, w.typ, ProjectA, w.version)
			}
			sameSegment(t, fmt.Sprintf("event %d (%v)", i, ev.Type), ev.Segment, w.seg)
			if ev.Segment.ID == before.ID {
				t.Fatal("a change from before Watch was delivered")
			}
		}
	}
}

func testWatchCancel(t *testing.T, _ Harness, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, ProjectA, "a")
	cancel()
	waitClosed(t, ch)
	// Writes go on; the other subscription is unaffected.
	b := mustCreate(t, s, ProjectA, "b")
	recv(t, keep)
	if ev := recv(t, keep); ev.Segment.ID != b.ID {
		t.Fatalf("got %v %s, want the create of %s", ev.Type, ev.Segment.ID, b.ID)
	}
}

// testWatchSlowConsumer checks the slow-consumer policy: writers never
// wait for a subscriber that does not read; it loses the events beyond its
// buffer and gets exactly one EventResync in their place, after which
// delivery resumes.
func testWatchSlowConsumer(t *testing.T, h Harness, s store.Store) {
	ch, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	seg := mustCreate(t, s, ProjectA, "hot")
	writes := h.WatchBuffer + 10
	done := make(chan error, 1)
	go func() {
		for i := 0; i < writes; i++ {
			if _, err := s.Update(context.Background(), ProjectA, seg.ID, store.SegmentUpdate{Name: ptr(fmt.Sprint("v", i))}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("writers blocked by a subscriber that does not read")
	}

	// The buffer holds the first events, in order, then one resync.
	for i := 0; i < h.WatchBuffer; i++ {
		ev := recv(t, ch)
		if ev.Type == store.EventResync {
			t.Fatalf("resync after %d events, want %d buffered first", i, h.WatchBuffer)
		}
		if ev.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d, want %d", i, ev.Version, i+1)
		}
	}
	if ev := recv(t, ch); ev.Type != store.EventResync || ev.Project != ProjectA {
		t.Fatalf("after a full buffer: %v %q, want resync for %s", ev.Type, ev.Project, ProjectA)
	}
	// Then delivery resumes with the next change (no second resync).
	last, err := s.Update(t.Context(), ProjectA, seg.ID, store.SegmentUpdate{Name: ptr("after")})
	if err != nil {
		t.Fatal(err)
	}
	ev := recv(t, ch)
	if ev.Type != store.EventUpdated || ev.Version != uint64(writes+2) {
		t.Fatalf("after resync: %v v%d, want updated v%d", ev.Type, ev.Version, writes+2)
	}
	sameSegment(t, "event after resync", ev.Segment, last)
	// What the resync asks for: List shows the current state.
	if segs := listAll(t, s, ProjectA); len(segs) != 1 || segs[0].Name != "after" {
		t.Fatalf("List after resync: %v", segs)
	}
}

// testWatchFollow runs the engine keeper's recipe (Watch, then List, then
// follow the feed, re-listing on resync) against concurrent writers and
// checks the follower ends with exactly the stored state.
func testWatchFollow(t *testing.T, _ Harness, s store.Store) {
	for i := 0; i < 5; i++ {
		mustCreate(t, s, ProjectA, fmt.Sprint("seed", i))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			<-start
			var mine []string
			for i := 0; i < 40; i++ {
				switch r := rng.IntN(10); {
				case r < 4 || len(mine) == 0:
					seg, err := s.Create(context.Background(), ProjectA, UserA, vip(fmt.Sprint("w", w, "-", i)))
					if err != nil {
						t.Error(err)
						return
					}
					mine = append(mine, seg.ID)
				case r < 8:
					id := mine[rng.IntN(len(mine))]
					if _, err := s.Update(context.Background(), ProjectA, id, store.SegmentUpdate{Name: ptr(fmt.Sprint("u", w, "-", i))}); err != nil {
						t.Error(err)
						return
					}
				default:
					k := rng.IntN(len(mine))
					if _, err := s.Delete(context.Background(), ProjectA, mine[k]); err != nil {
						t.Error(err)
						return
					}
					mine = append(mine[:k], mine[k+1:]...)
				}
			}
		}()
	}

	// The follower starts while the writers run.
	close(start)
	ch, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	view := map[string]filter.Segment{}
	resync := func() {
		clear(view)
		for _, seg := range listAll(t, s, ProjectA) {
			view[seg.ID] = seg
		}
	}
	resync()
	wg.Wait()
	if t.Failed() {
		return
	}
	marker := mustCreate(t, s, ProjectA, "marker")
follow:
	for {
		ev := recv(t, ch)
		switch ev.Type {
		case store.EventResync:
			resync()
			if _, ok := view[marker.ID]; ok {
				break follow // the marker's own event may have been dropped
			}
			continue
		case store.EventCreated, store.EventUpdated:
			if held, ok := view[ev.Segment.ID]; !ok || ev.Segment.UpdatedAt.After(held.UpdatedAt) {
				view[ev.Segment.ID] = ev.Segment
			}
		case store.EventDeleted:
			delete(view, ev.Segment.ID)
		}
		if ev.Segment.ID == marker.ID {
			break
		}
	}
	stored := listAll(t, s, ProjectA)
	if len(stored) != len(view) {
		t.Fatalf("follower holds %d segments, store has %d", len(view), len(stored))
	}
	for _, seg := range stored {
		sameSegment(t, "follower's copy of "+seg.ID, view[seg.ID], seg)
	}
}
