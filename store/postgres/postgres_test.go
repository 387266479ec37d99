package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/postgres"
	"github.com/segmatch/segmatch/store/storetest"
)

// schemaDSN makes a fresh schema and returns a DSN that uses it.
func schemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SEGMATCH_PG_DSN")
	if dsn == "" {
		t.Skip("SEGMATCH_PG_DSN is unset: run `source .ci/pg` first for the PostgreSQL tests")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("store_test_%d_%d", os.Getpid(), rand.Int64N(1<<40))
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn, postgres.WithWatchBuffer(32))
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
			dsn := schemaDSN(t)
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
		WatchBuffer: 32,
		Goroutines:  40,
	})
}

// Two instances on one database: a write through one is seen by the
// other's Get and delivered on the other's Watch; conflicting
// conditional updates from both are serialised.
func TestTwoInstances(t *testing.T) {
	dsn := schemaDSN(t)
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
	_, err1 := a.Update(ctx, storetest.ProjectA, seg.ID, store.SegmentUpdate{Name: &n1, IfUpdatedAt: seg.UpdatedAt})
	_, err2 := b.Update(ctx, storetest.ProjectA, seg.ID, store.SegmentUpdate{Name: &n2, IfUpdatedAt: seg.UpdatedAt})
	if err1 != nil || err2 == nil {
		t.Fatalf("conditional updates from a stale state: %v, %v", err1, err2)
	}
}
