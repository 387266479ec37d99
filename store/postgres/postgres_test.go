package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/postgres"
	"github.com/segmatch/segmatch/store/storetest"
)

func open(t *testing.T, dsn string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn, append([]postgres.Option{postgres.WithWatchBuffer(32)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dsns := map[store.Store]string{}
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store {
			dsn := pgtest.SchemaDSN(t, "store_test")
			s := open(t, dsn)
			dsns[s] = dsn
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			dsn := dsns[s]
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			n := open(t, dsn)
			dsns[n] = dsn
			return n
		},
		OpenLimited: func(t *testing.T, l store.Limits) store.Store {
			dsn := pgtest.SchemaDSN(t, "store_test")
			s := open(t, dsn, postgres.WithLimits(l))
			dsns[s] = dsn
			return s
		},
		ReopenLimited: func(t *testing.T, s store.Store, l store.Limits) store.Store {
			dsn := dsns[s]
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			n := open(t, dsn, postgres.WithLimits(l))
			dsns[n] = dsn
			return n
		},
		WatchBuffer: 32,
		Goroutines:  40,
	})
}

// Two instances on one database: a write through one is seen by the
// other's Get and delivered on the other's Watch; conflicting
// conditional updates from both are serialised.
func TestTwoInstances(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	a, b := open(t, dsn), open(t, dsn)
	ctx := t.Context()
	ch, err := b.Watch(ctx, storetest.ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := a.Create(ctx, storetest.ProjectA, storetest.UserA, storetest.Seg("shared", filter.All))
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, storetest.ProjectA, seg.ID)
	if err != nil || got.Name != "shared" {
		t.Fatalf("b.Get: %v %v", got.Name, err)
	}
	select {
	case ev := <-ch:
		if ev.Type != store.EventCreated || ev.Segment.ID != seg.ID || ev.Version != 1 {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event across instances")
	}
	n1, n2 := "from a", "from b"
	upd1, err1 := a.Update(ctx, storetest.ProjectA, seg.ID, store.SegmentUpdate{Name: &n1, IfUpdatedAt: seg.UpdatedAt})
	_, err2 := b.Update(ctx, storetest.ProjectA, seg.ID, store.SegmentUpdate{Name: &n2, IfUpdatedAt: seg.UpdatedAt})
	if err1 != nil || err2 == nil {
		t.Fatalf("conditional updates from a stale state: %v, %v", err1, err2)
	}
	if !errors.Is(err2, store.ErrConflict) {
		t.Fatalf("stale update from b: %v, want ErrConflict", err2)
	}

	// The same, concurrently: both instances update from one state at
	// once (released together by a barrier); the row lock serialises
	// them, and exactly one wins.
	for round := range 20 {
		prev := upd1
		names := []string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)}
		var (
			wg      sync.WaitGroup
			barrier = make(chan struct{})
			segs    [2]filter.Segment
			errs    [2]error
		)
		for i, st := range []*postgres.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-barrier
				segs[i], errs[i] = st.Update(ctx, storetest.ProjectA, seg.ID, store.SegmentUpdate{Name: &names[i], IfUpdatedAt: prev.UpdatedAt})
			}()
		}
		close(barrier)
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("round %d: both conditional updates succeeded", round)
				}
				won = i
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: %v, want ErrConflict", round, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no update succeeded: %v", round, errs)
		}
		got, err := a.Get(ctx, storetest.ProjectA, seg.ID)
		if err != nil || got.Name != names[won] || !got.UpdatedAt.Equal(segs[won].UpdatedAt) {
			t.Fatalf("round %d: stored %q %v, want the winner's %q (%v)", round, got.Name, err, names[won], segs[won].UpdatedAt)
		}
		upd1 = segs[won]
	}
}

// schemaOf returns the schema a pgtest.SchemaDSN DSN uses.
func schemaOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

// An event the listener cannot read back (here: a trigger deletes every
// event row as it is written, as the pruning of a late listener would) is
// replaced by an EventResync for its project, and the writer, which waits
// for its event's publication, is not held up.
func TestLostEvent(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	s := open(t, dsn)
	ctx := t.Context()
	chA, err := s.Watch(ctx, storetest.ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	chB, err := s.Watch(ctx, storetest.ProjectB)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgx.Identifier{schemaOf(t, dsn)}.Sanitize()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE FUNCTION `+schema+`.lose_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM `+schema+`.segmatch_events WHERE seq = NEW.seq;
	RETURN NULL;
END $$;
CREATE TRIGGER lose_event AFTER INSERT ON `+schema+`.segmatch_events FOR EACH ROW EXECUTE FUNCTION `+schema+`.lose_event();`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Create(ctx, storetest.ProjectA, storetest.UserA, storetest.Seg("lost", filter.All)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the write waited %v for an event that was lost", d)
	}
	select {
	case ev := <-chA:
		if ev.Type != store.EventResync || ev.Project != storetest.ProjectA {
			t.Fatalf("event %+v, want a resync of %s", ev, storetest.ProjectA)
		}
	default:
		t.Fatal("the lost event left no resync (it should be queued when the write returns)")
	}
	select {
	case ev := <-chB:
		t.Fatalf("another project got %+v", ev)
	default:
	}
}

// A Watch that times out leaves no subscription behind, even when the
// listener replies just after the timeout.
func TestWatchTimeout(t *testing.T) {
	s := open(t, pgtest.SchemaDSN(t, "store_test"))
	postgres.SetWatchTimeout(s, time.Nanosecond)
	ctx := t.Context()
	ok, timedOut := 0, 0
	for range 100 {
		_, err := s.Watch(ctx, storetest.ProjectA)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, postgres.ErrWatchTimeout):
			timedOut++
		default:
			t.Fatal(err)
		}
	}
	t.Logf("%d subscribed, %d timed out", ok, timedOut)
	// Let any late reply arrive, then count.
	postgres.SetWatchTimeout(s, 30*time.Second)
	if _, err := s.Watch(ctx, storetest.ProjectB); err != nil {
		t.Fatal(err)
	}
	if n := postgres.Subscribers(s, storetest.ProjectA); n != ok {
		t.Fatalf("%d subscriptions, want the %d Watch returned", n, ok)
	}
}
