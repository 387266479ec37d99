package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/postgres"
	"github.com/segmatch/segmatch/store/storetest"
)

// Two instances racing creates into a project's last free slots: the
// limit holds across them (the advisory lock is the database's, not the
// process's).
func TestLimitsTwoInstances(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	const max = 6
	l := store.Limits{MaxSegments: max, MaxBytes: -1}
	a, b := open(t, dsn, postgres.WithLimits(l)), open(t, dsn, postgres.WithLimits(l))
	for i := 0; i < max-2; i++ {
		if _, err := a.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg(fmt.Sprint(i), filter.All)); err != nil {
			t.Fatal(err)
		}
	}
	const racers = 20
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			_, errs[i] = s.Create(context.Background(), storetest.ProjectA, storetest.UserA, storetest.Seg(fmt.Sprint("racer", i), filter.All))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrLimit):
			t.Fatalf("racer: %v", err)
		}
	}
	_, n, err := b.List(t.Context(), storetest.ProjectA, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ok != 2 || n != max {
		t.Fatalf("%d creates succeeded, %d segments; want 2 and %d", ok, n, max)
	}
}

// Rows written before sizes were kept (size NULL, no size in the record)
// are sized from their segment when the project is next written, and
// counted against MaxBytes.
func TestLimitsUnsizedRows(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	s := open(t, dsn)
	big := storetest.Seg("big", filter.Any, filter.Cond("a", "in", []any{"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"}))
	seg, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, big)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var size int64
	if err := conn.QueryRow(t.Context(), "SELECT size FROM segmatch_segments WHERE id = $1", seg.ID).Scan(&size); err != nil || size <= 0 {
		t.Fatalf("stored size %d, %v", size, err)
	}
	// As an older version wrote it.
	if _, err := conn.Exec(t.Context(), `UPDATE segmatch_segments SET size = NULL, record = regexp_replace(record, ',"size":[0-9]+', '') WHERE id = $1`, seg.ID); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Room for the old segment only: one more must not fit.
	s = open(t, dsn, postgres.WithLimits(store.Limits{MaxSegments: -1, MaxBytes: size + 1}))
	_, err = s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("more", filter.All, filter.Cond("b", "=", 1)))
	var le *store.LimitError
	if !errors.As(err, &le) || le.Used != size {
		t.Fatalf("create beyond MaxBytes with an unsized row: %v (%+v), want a limit error with %d used", err, le, size)
	}
	// A delete frees the old segment's bytes.
	if _, err := s.Delete(t.Context(), storetest.ProjectA, seg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("more", filter.All, filter.Cond("b", "=", 1))); err != nil {
		t.Fatalf("create after the delete: %v", err)
	}
}

// The usage counted at every write, and List, read a project's active
// rows through the partial index of active segments, in the generic plan
// of a cached statement too, not every row the project ever had (deleted
// rows stay forever); and deleted rows count for nothing.
func TestUsageReadsActiveRowsOnly(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	s := open(t, dsn, postgres.WithLimits(store.Limits{MaxSegments: 3, MaxBytes: -1}))
	for i := 0; i < 40; i++ {
		seg, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg(fmt.Sprint("gone", i), filter.All))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete(t.Context(), storetest.ProjectA, seg.ID); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg(fmt.Sprint("kept", i), filter.All)); err != nil {
			t.Fatalf("create %d next to 40 deleted segments, at most 3 active: %v", i, err)
		}
	}
	_, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("one more", filter.All))
	var le *store.LimitError
	if !errors.As(err, &le) || le.Used != 3 {
		t.Fatalf("a 4th active segment: %v (%+v), want a limit error with 3 used", err, le)
	}

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{"ANALYZE segmatch_segments", "SET enable_seqscan = off", "SET plan_cache_mode = force_generic_plan"} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	for name, sql := range map[string]string{"usage": postgres.UsageSQL, "list": postgres.ListSQL} {
		if _, err := conn.Exec(t.Context(), "PREPARE q_"+name+"(text) AS "+sql); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(t.Context(), "EXPLAIN EXECUTE q_"+name+"('"+storetest.ProjectA+"')")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if text := strings.Join(plan, "\n"); !strings.Contains(text, "segmatch_segments_active") {
			t.Errorf("the %s query's generic plan does not use the index of active segments:\n%s", name, text)
		}
	}
}
