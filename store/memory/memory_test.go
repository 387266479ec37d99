package memory_test

import (
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"

	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/memory"
	"github.com/segmatch/segmatch/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(*testing.T) store.Store { return memory.New(memory.WithWatchBuffer(32)) },
		OpenLimited: func(_ *testing.T, l store.Limits) store.Store {
			return memory.New(memory.WithWatchBuffer(32), memory.WithLimits(l))
		},
		WatchBuffer: 32,
	})
}

// A clock that stands still still gives strictly increasing updatedAt and
// distinct, increasing ids.
func TestFrozenClock(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	s := memory.New(memory.WithClock(func() time.Time { return at }))
	defer s.Close()
	a, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("a", filter.All))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("b", filter.All))
	if err != nil {
		t.Fatal(err)
	}
	if !a.CreatedAt.Equal(at) || b.ID <= a.ID {
		t.Fatalf("a %s@%v, b %s", a.ID, a.CreatedAt, b.ID)
	}
	prev := a
	for i := 0; i < 3; i++ {
		next, err := s.Update(t.Context(), storetest.ProjectA, a.ID, store.SegmentUpdate{Name: &b.Name, IfUpdatedAt: prev.UpdatedAt})
		if err != nil {
			t.Fatal(err)
		}
		if want := prev.UpdatedAt.Add(time.Millisecond); !next.UpdatedAt.Equal(want) {
			t.Fatalf("updatedAt %v, want %v", next.UpdatedAt, want)
		}
		prev = next
	}
}
