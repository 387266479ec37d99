package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// openLimited opens a store with limits l (closed at the end of the test).
func openLimited(t *testing.T, h Harness, l store.Limits) store.Store {
	t.Helper()
	if h.OpenLimited == nil {
		t.Fatal("Harness.OpenLimited is nil: every store must take store.Limits")
	}
	s := h.OpenLimited(t, l)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// small and big are two definitions of known, different compiled sizes.
func small(name string) filter.Segment { return Seg(name, filter.All, filter.Cond("a", "=", "x")) }

func big(name string) filter.Segment {
	vals := make([]any, 200)
	for i := range vals {
		vals[i] = fmt.Sprintf("value-%03d", i)
	}
	return Seg(name, filter.Any, filter.Cond("a", "in", vals), filter.Cond("b", "contains", "vip"), filter.Cond("c", ">=", 3))
}

// compiledSize is what a store must count for def: the size of the
// program compiled from the validated definition.
func compiledSize(t *testing.T, def filter.Segment) int64 {
	t.Helper()
	seg, err := store.Validate(def)
	if err != nil {
		t.Fatal(err)
	}
	p, err := segmatch.Compile(seg)
	if err != nil {
		t.Fatal(err)
	}
	return int64(p.Size())
}

func wantLimit(t *testing.T, what string, err error, limit string, max int64) {
	t.Helper()
	var le *store.LimitError
	if !errors.Is(err, store.ErrLimit) || !errors.As(err, &le) {
		t.Fatalf("%s: err = %v, want a *store.LimitError", what, err)
	}
	if le.Limit != limit || le.Max != max || le.Project == "" {
		t.Fatalf("%s: %+v, want limit %q max %d", what, le, limit, max)
	}
	if errors.Is(err, store.ErrInvalid) {
		t.Fatalf("%s: a limit error is not ErrInvalid: %v", what, err)
	}
}

func count(t *testing.T, s store.Store, project string) int {
	t.Helper()
	_, n, err := s.List(t.Context(), project, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testLimitSegments fills a project to MaxSegments: one more create
// fails and changes nothing, other projects are not affected, updates of
// the full project still work, a delete frees a slot (deleting it again
// frees nothing more).
func testLimitSegments(t *testing.T, h Harness, _ store.Store) {
	const max = 3
	s := openLimited(t, h, store.Limits{MaxSegments: max, MaxBytes: -1})
	var segs []filter.Segment
	for i := 0; i < max; i++ {
		segs = append(segs, mustCreate(t, s, ProjectA, fmt.Sprint("s", i)))
	}
	_, err := s.Create(t.Context(), ProjectA, UserA, vip("one too many"))
	wantLimit(t, "create beyond MaxSegments", err, "segments", max)
	if n := count(t, s, ProjectA); n != max {
		t.Fatalf("after a refused create: %d segments, want %d", n, max)
	}
	// Another project has its own count.
	for i := 0; i < max; i++ {
		mustCreate(t, s, ProjectB, fmt.Sprint("b", i))
	}
	// Updating a segment of a full project adds none.
	if _, err := s.Update(t.Context(), ProjectA, segs[0].ID, store.SegmentUpdate{Name: ptr("renamed"), Filters: &[]filter.Filter{}}); err != nil {
		t.Fatalf("update in a full project: %v", err)
	}
	if _, err := s.Delete(t.Context(), ProjectA, segs[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(t.Context(), ProjectA, segs[1].ID); err != nil { // again: no second slot
		t.Fatal(err)
	}
	mustCreate(t, s, ProjectA, "in the freed slot")
	_, err = s.Create(t.Context(), ProjectA, UserA, vip("again one too many"))
	wantLimit(t, "create beyond MaxSegments after a delete", err, "segments", max)

	if h.ReopenLimited != nil {
		// The count is the file's, not the process's.
		s = h.ReopenLimited(t, s, store.Limits{MaxSegments: max, MaxBytes: -1})
		t.Cleanup(func() { _ = s.Close() })
		_, err = s.Create(t.Context(), ProjectA, UserA, vip("one too many after reopen"))
		wantLimit(t, "create beyond MaxSegments after reopen", err, "segments", max)
		s = h.ReopenLimited(t, s, store.Limits{MaxSegments: max + 1, MaxBytes: -1})
		t.Cleanup(func() { _ = s.Close() })
		mustCreate(t, s, ProjectA, "under a raised limit")
		if n := count(t, s, ProjectA); n != max+1 {
			t.Fatalf("%d segments, want %d", n, max+1)
		}
	}
}

// testLimitBytes bounds a project's total compiled size: a create or an
// update that would grow it beyond MaxBytes fails and changes nothing;
// updates that shrink or keep the size, and deletes, always pass.
func testLimitBytes(t *testing.T, h Harness, _ store.Store) {
	sSmall, sBig := compiledSize(t, small("x")), compiledSize(t, big("x"))
	if sSmall <= 0 || sBig < 3*sSmall {
		t.Fatalf("sizes: small %d, big %d: want big >= 3 small", sSmall, sBig)
	}
	max := 2 * sBig
	s := openLimited(t, h, store.Limits{MaxSegments: -1, MaxBytes: max})
	b1, err := s.Create(t.Context(), ProjectA, UserA, big("b1"))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := s.Create(t.Context(), ProjectA, UserA, big("b2"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(t.Context(), ProjectA, UserA, small("one byte too many"))
	wantLimit(t, "create beyond MaxBytes", err, "bytes", max)
	if n := count(t, s, ProjectA); n != 2 {
		t.Fatalf("after a refused create: %d segments", n)
	}
	// Another project has its own total.
	if _, err := s.Create(t.Context(), ProjectB, UserA, big("other")); err != nil {
		t.Fatal(err)
	}
	// A rename keeps the size: it passes in a full project.
	if _, err := s.Update(t.Context(), ProjectA, b1.ID, store.SegmentUpdate{Name: ptr("b1 renamed")}); err != nil {
		t.Fatalf("rename in a full project: %v", err)
	}
	// Shrinking b1 makes room for a small segment.
	fs := small("x").Filters
	if _, err := s.Update(t.Context(), ProjectA, b1.ID, store.SegmentUpdate{Filters: &fs}); err != nil {
		t.Fatalf("shrinking update: %v", err)
	}
	s1, err := s.Create(t.Context(), ProjectA, UserA, small("s1"))
	if err != nil {
		t.Fatalf("create after a shrinking update: %v", err)
	}
	// Growing s1 back to big would take the total to 3 big: refused, unchanged.
	before := mustGet(t, s, ProjectA, s1.ID)
	bigFs := big("x").Filters
	_, err = s.Update(t.Context(), ProjectA, s1.ID, store.SegmentUpdate{Filters: &bigFs})
	wantLimit(t, "growing update beyond MaxBytes", err, "bytes", max)
	sameSegment(t, "segment after a refused update", mustGet(t, s, ProjectA, s1.ID), before)
	// A delete frees its bytes.
	if _, err := s.Delete(t.Context(), ProjectA, b2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(t.Context(), ProjectA, s1.ID, store.SegmentUpdate{Filters: &bigFs}); err != nil {
		t.Fatalf("growing update after a delete: %v", err)
	}
	if h.ReopenLimited != nil {
		// Now b1 (small) + s1 (big): one more big does not fit, after reopen too.
		s = h.ReopenLimited(t, s, store.Limits{MaxSegments: -1, MaxBytes: max})
		t.Cleanup(func() { _ = s.Close() })
		_, err = s.Create(t.Context(), ProjectA, UserA, big("b3"))
		wantLimit(t, "create beyond MaxBytes after reopen", err, "bytes", max)
		if _, err := s.Create(t.Context(), ProjectA, UserA, small("s2")); err != nil {
			t.Fatalf("small create after reopen: %v", err)
		}
	}
}

// testLimitConcurrent races writers at the limits: of concurrent creates
// into the last free slot exactly one succeeds, and of concurrent
// updates that each would fit alone in the remaining bytes, exactly one.
func testLimitConcurrent(t *testing.T, h Harness, _ store.Store) {
	const racers = 16
	race := func(fn func(i int) error) (ok, limited int) {
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fn(i)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLimit):
				limited++
			default:
				t.Errorf("racer: %v", err)
			}
		}
		return ok, limited
	}

	t.Run("creates", func(t *testing.T) {
		const max = 5
		s := openLimited(t, h, store.Limits{MaxSegments: max, MaxBytes: -1})
		for i := 0; i < max-1; i++ {
			mustCreate(t, s, ProjectA, fmt.Sprint("s", i))
		}
		ok, limited := race(func(i int) error {
			_, err := s.Create(t.Context(), ProjectA, UserA, vip(fmt.Sprint("racer", i)))
			return err
		})
		if ok != 1 || limited != racers-1 {
			t.Fatalf("%d creates succeeded, %d hit the limit; want 1 and %d", ok, limited, racers-1)
		}
		if n := count(t, s, ProjectA); n != max {
			t.Fatalf("%d segments, want %d", n, max)
		}
	})

	t.Run("updates", func(t *testing.T) {
		sSmall, sBig := compiledSize(t, small("x")), compiledSize(t, big("x"))
		// racers small segments, room for one of them to grow big.
		max := int64(racers-1)*sSmall + sBig
		s := openLimited(t, h, store.Limits{MaxSegments: -1, MaxBytes: max})
		ids := make([]string, racers)
		for i := range ids {
			seg, err := s.Create(t.Context(), ProjectA, UserA, small(fmt.Sprint("s", i)))
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = seg.ID
		}
		bigFs := big("x").Filters
		ok, limited := race(func(i int) error {
			_, err := s.Update(t.Context(), ProjectA, ids[i], store.SegmentUpdate{Filters: &bigFs})
			return err
		})
		if ok != 1 || limited != racers-1 {
			t.Fatalf("%d growing updates succeeded, %d hit the limit; want 1 and %d", ok, limited, racers-1)
		}
	})

	t.Run("mixed", func(t *testing.T) {
		// Deletes racing creates at the limit: the count never exceeds
		// it, and each delete frees exactly one slot.
		const max = 8
		s := openLimited(t, h, store.Limits{MaxSegments: max, MaxBytes: -1})
		var victims []string
		for i := 0; i < max; i++ {
			victims = append(victims, mustCreate(t, s, ProjectA, fmt.Sprint("v", i)).ID)
		}
		const deletes = 4
		ok, limited := race(func(i int) error {
			if i < deletes {
				_, err := s.Delete(t.Context(), ProjectA, victims[i])
				return err
			}
			_, err := s.Create(t.Context(), ProjectA, UserA, vip(fmt.Sprint("racer", i)))
			return err
		})
		created := ok - deletes
		if created > deletes || limited != racers-deletes-created {
			t.Fatalf("%d creates succeeded after %d deletes (%d limited)", created, deletes, limited)
		}
		if n := count(t, s, ProjectA); n != max-deletes+created || n > max {
			t.Fatalf("%d segments, want %d", n, max-deletes+created)
		}
	})
}
