package worker_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cputime"
	"github.com/segmatch/segmatch/internal/testkit/pgtest"
	"github.com/segmatch/segmatch/store/memory"
	"github.com/segmatch/segmatch/worker"
)

// TestRefreshFigures (SEGMATCH_REFRESH_FIGURES=N contacts) measures a
// refresh pass's CPU per stored contact, in this process and in
// PostgreSQL (each phase on its own pool, closed before reading the
// server's CPU, so its backends are counted), interleaving passes that
// move half the contacts out or in with passes that move nobody.
func TestRefreshFigures(t *testing.T) {
	n := envInt("SEGMATCH_REFRESH_FIGURES", 0)
	if n == 0 {
		t.Skip("SEGMATCH_REFRESH_FIGURES=N measures refresh passes over N contacts")
	}
	dsn := pgtest.SchemaDSN(t, "worker_test")
	ctx := t.Context()
	require.NoError(t, worker.InstallRefresh(ctx, newPool(t, dsn)))
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := newClock(t0)
	st := memory.New()
	_, err := st.Create(ctx, "p", "test", filter.Segment{Name: "recent", Filters: []filter.Filter{filter.Cond("createdAt", "within_last", "1h")}})
	require.NoError(t, err)
	f, err := worker.Follow(ctx, st, "p", nil, segmatch.WithNow(clock.now))
	require.NoError(t, err)
	snap := f.Load()
	seg := worker.TimeDependent(snap)[0]
	setup := newPool(t, dsn)
	// No autovacuum worker's CPU in the figures (it exits, and counts).
	for _, tbl := range []string{"segmatch_contacts", "segmatch_members", "segmatch_outbox", "segmatch_refresh", "segmatch_segrev"} {
		_, err := setup.Exec(ctx, "ALTER TABLE "+tbl+" SET (autovacuum_enabled = false)")
		require.NoError(t, err)
	}
	_, err = worker.Announce(ctx, setup, snap)
	require.NoError(t, err)
	// Half the contacts created 30 minutes before t0, half 3 hours before.
	for lo := 0; lo < n; lo += 2000 {
		var changes []worker.Change
		for i := lo; i < min(lo+2000, n); i++ {
			age := 30 * time.Minute
			if i%2 == 1 {
				age = 3 * time.Hour
			}
			doc := fmt.Sprintf(`{"_id":"c%07d","_version":1,"createdAt":%q,"country":"IT","plan":"pro","score":0.5}`, i, t0.Add(-age).Format(time.RFC3339))
			changes = append(changes, classify(t, snap, fmt.Sprintf("c%07d", i), 1, doc))
		}
		_, err := worker.Apply(ctx, setup, snap, changes)
		require.NoError(t, err)
	}
	setup.Close()
	time.Sleep(time.Second) // its backends exit before the first figure
	type phase struct {
		name       string
		worker, pg time.Duration
		events     int
	}
	var moved, still phase
	moved.name, still.name = "moves half", "moves nobody"
	pass := func(now time.Time, into *phase) {
		pool, err := pgxpool.New(context.Background(), dsn)
		require.NoError(t, err)
		// The clock goes back and forth here: forget the last pass.
		_, err = pool.Exec(ctx, "DELETE FROM segmatch_refresh")
		require.NoError(t, err)
		pg0, cpu0 := postgresCPU(), cputime.Process()
		res, err := worker.Refresh(ctx, pool, snap, seg, now, time.Nanosecond, nil)
		require.NoError(t, err)
		require.True(t, res.Done)
		require.Equal(t, n, res.Contacts)
		into.worker += cputime.Process() - cpu0
		pool.Close()
		time.Sleep(300 * time.Millisecond) // the backends exit
		into.pg += postgresCPU() - pg0
		into.events += res.Events
	}
	const rounds = 3
	now := t0
	for range rounds {
		now = now.Add(time.Minute)
		pass(now, &still) // still in: the 30-minute-old half
		now = now.Add(time.Hour)
		pass(now, &moved) // the half leaves
		now = now.Add(time.Minute)
		pass(now, &still)                       // nobody moves
		now = now.Add(-time.Hour - time.Minute) // back: the half is in again
		pass(now, &moved)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	for _, p := range []phase{still, moved} {
		passes := 2 * rounds
		per := func(d time.Duration) string {
			return fmt.Sprintf("%.2f µs", float64(d.Nanoseconds())/float64(passes*n)/1e3)
		}
		t.Logf("refresh pass that %s: %d contacts, %d passes, %d events: worker CPU %s/contact, PostgreSQL CPU %s/contact (loadavg %s)",
			p.name, n, passes, p.events, per(p.worker), per(p.pg), string(load[:14]))
	}
}
