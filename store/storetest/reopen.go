package storetest

import (
	"errors"
	"testing"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

func testClose(t *testing.T, _ Harness, s store.Store) {
	a := mustCreate(t, s, ProjectA, "a")
	ch, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch)
	_, err = s.Create(t.Context(), ProjectA, UserA, vip("x"))
	wantErr(t, "Create after Close", err, store.ErrClosed)
	_, err = s.Get(t.Context(), ProjectA, a.ID)
	wantErr(t, "Get after Close", err, store.ErrClosed)
	_, _, err = s.List(t.Context(), ProjectA, store.ListOptions{})
	wantErr(t, "List after Close", err, store.ErrClosed)
	_, err = s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("x")})
	wantErr(t, "Update after Close", err, store.ErrClosed)
	_, err = s.Delete(t.Context(), ProjectA, a.ID)
	wantErr(t, "Delete after Close", err, store.ErrClosed)
	_, err = s.Watch(t.Context(), ProjectA)
	wantErr(t, "Watch after Close", err, store.ErrClosed)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testReopen(t *testing.T, h Harness, s store.Store) {
	if h.Reopen == nil {
		t.Skip("the store does not persist")
	}
	a := mustCreate(t, s, ProjectA, "a")
	b := mustCreate(t, s, ProjectA, "b")
	c := mustCreate(t, s, ProjectB, "c")
	var err error
	aFirst := a.UpdatedAt    // strictly older than a's later versions
	for i := 0; i < 3; i++ { // a reaches version 4
		if a, err = s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("a" + string(rune('1'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	fs := []filter.Filter{filter.Cond("x", "in", []any{1, "two", nil})}
	if b, err = s.Update(t.Context(), ProjectA, b.ID, store.SegmentUpdate{Match: ptr(filter.Any), Filters: &fs}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(t.Context(), ProjectB, c.ID); err != nil {
		t.Fatal(err)
	}
	beforeA, beforeB := listAll(t, s, ProjectA), listAll(t, s, ProjectB)

	s = h.Reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })

	afterA, afterB := listAll(t, s, ProjectA), listAll(t, s, ProjectB)
	if len(afterA) != len(beforeA) || len(afterB) != len(beforeB) {
		t.Fatalf("after reopen: %d+%d segments, want %d+%d", len(afterA), len(afterB), len(beforeA), len(beforeB))
	}
	for i := range beforeA {
		sameSegment(t, "after reopen", afterA[i], beforeA[i])
	}
	sameSegment(t, "a after reopen", mustGet(t, s, ProjectA, a.ID), a)
	sameSegment(t, "b after reopen", mustGet(t, s, ProjectA, b.ID), b)
	_, err = s.Get(t.Context(), ProjectB, c.ID)
	wantErr(t, "deleted segment after reopen", err, store.ErrNotFound)
	if _, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("x"), IfUpdatedAt: aFirst}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale precondition after reopen: %v", err)
	}

	// Versions, timestamps and ids carry on from where they were.
	ch, err := s.Watch(t.Context(), ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("a5"), IfUpdatedAt: a.UpdatedAt})
	if err != nil {
		t.Fatal(err)
	}
	if !a2.UpdatedAt.After(a.UpdatedAt) {
		t.Fatalf("updatedAt %v not after %v", a2.UpdatedAt, a.UpdatedAt)
	}
	if ev := recv(t, ch); ev.Version != 5 {
		t.Fatalf("version after reopen: %d, want 5", ev.Version)
	}
	d := mustCreate(t, s, ProjectA, "d")
	for _, old := range []string{a.ID, b.ID, c.ID} {
		if d.ID <= old {
			t.Fatalf("new id %s not after %s from before the reopen", d.ID, old)
		}
	}
}
