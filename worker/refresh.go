package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/segmatch/segmatch"
)

// DefaultRefresh is how often the time-dependent segments are
// re-evaluated over the stored contacts when Options.Refresh is 0.
const DefaultRefresh = time.Hour

// refreshSchema records, per time-dependent segment, the "now" of its
// last completed refresh: the row that tells every worker whether a
// refresh is due, so that N workers do one pass per period, not N.
const refreshSchema = `
CREATE TABLE IF NOT EXISTS segmatch_refresh (
	project text NOT NULL,
	segment text NOT NULL,
	refreshed timestamptz NOT NULL,
	PRIMARY KEY (project, segment)
);
`

// InstallRefresh creates segmatch_refresh, the table Refresh needs
// besides Install's, when missing (New creates both), under the lock
// Install takes (concurrent CREATE TABLE IF NOT EXISTS can fail).
func InstallRefresh(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('segmatch_worker_schema'))"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, refreshSchema); err != nil {
			return fmt.Errorf("worker: creating segmatch_refresh: %w", err)
		}
		return nil
	})
}

// RefreshResult says what one refresh of a segment did.
type RefreshResult struct {
	Done     bool // a pass ran (false: not due, another worker's, or not time-dependent)
	Contacts int  // stored contacts re-evaluated
	Events   int  // enter/exit events it committed
}

// TimeDependent lists snap's active segments whose verdict can change
// with time alone (segmatch.Program.ReadsNow: within_last,
// not_within_last, within_next), sorted.
func TimeDependent(snap *Snapshot) []string {
	var ids []string
	for id, p := range snap.Progs {
		if p != nil && p.ReadsNow() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Refresh re-evaluates one time-dependent segment of snap over every
// stored contact's last version at the single instant now, when its last
// refresh (by any worker) is at least every before now; it is Recompute
// with the segment compiled again on a clock pinned to now, so the whole
// pass sees one time. emit gets each batch's events after its commit.
// The segment is compiled from snap.Segments (what a Follower fills in;
// a snapshot without it has nothing to refresh), and the tables are
// Install's and InstallRefresh's.
//
// One worker at a time: the pass holds the segment's recompute lock (a
// session advisory lock, the one RecomputePending takes for a segment
// edit, so a refresh and an edit recompute of a segment never overlap
// either) taken with pg_try_advisory_lock: a worker that finds it held
// skips the segment. Under the lock it reads segmatch_refresh, and after a
// complete pass records now there, so the workers that come next find the
// refresh not due. A worker that dies mid-pass releases the lock (its
// session ends) and records nothing: the next one starts over (a pass
// only writes differences).
//
// Concurrent contact changes: each batch of the pass holds its contacts
// FOR SHARE, and a change's transaction (Apply) locks its contact's row
// exclusively, so per contact the pass and the change are serialised and
// whichever commits last decides the contact's row, from the stored last
// version (a pass never classifies a version older than the stored one).
// They can only disagree by their clocks: the change was classified at
// tc (its batch's engine clock, read before its commit), the pass at now.
// If the change commits last with tc < now, the row holds the verdict at
// tc, older than now by at most that batch's latency; if the pass commits
// last with now < tc, the row holds the verdict at now, older than tc by
// at most the pass's duration. Either way the row is the right verdict
// at an instant no earlier than the last pass's now less one batch's
// latency, and the next pass (due one period after now) evaluates it
// again at a later instant under the same locks: no row stays wrong for
// longer than one refresh period (plus one pass's and one batch's
// duration). Each transition's event is written with the row change in
// one transaction, so the events follow the rows (a race can show as an
// exit and an enter one period apart). An event's message id has no time
// in it (Event.MsgID): a transition repeated at one contact version and
// segment revision within the events stream's duplicate window is
// dropped, so every should stay above that window (2 minutes).
func Refresh(ctx context.Context, pool *pgxpool.Pool, snap *Snapshot, segment string, now time.Time, every time.Duration, emit func([]Outboxed)) (RefreshResult, error) {
	var res RefreshResult
	prog := snap.Progs[segment]
	seg, ok := snap.Segments[segment]
	if prog == nil || !ok || !prog.ReadsNow() {
		return res, nil
	}
	pinned, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now }))
	if err != nil {
		return res, fmt.Errorf("worker: refreshing segment %s of project %s: %w", segment, snap.Project, err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	// recomputeClaimed's key (membership.go): the two must stay equal.
	key := "segmatch_recompute:" + snap.Project + ":" + segment
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", key).Scan(&got); err != nil || !got {
		conn.Release()
		return res, err
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", key); err != nil {
			// End the session rather than pool a connection holding the lock.
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
	}()
	var last time.Time
	err = conn.QueryRow(ctx, "SELECT refreshed FROM segmatch_refresh WHERE project = $1 AND segment = $2", snap.Project, segment).Scan(&last)
	switch {
	case err == nil:
		if now.Sub(last) < every {
			return res, nil // refreshed recently, by this worker or another
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return res, err
	}
	pass := &Snapshot{Project: snap.Project, Engine: snap.Engine, Rev: snap.Rev, Segments: snap.Segments,
		Progs: map[string]*segmatch.Program{segment: pinned}}
	res.Contacts, err = Recompute(ctx, pool, pass, segment, 2000, func(evs []Outboxed) {
		res.Events += len(evs)
		if emit != nil {
			emit(evs)
		}
	})
	if err != nil {
		return res, err
	}
	res.Done = true
	_, err = conn.Exec(ctx, `INSERT INTO segmatch_refresh (project, segment, refreshed) VALUES ($1, $2, $3)
		ON CONFLICT (project, segment) DO UPDATE SET refreshed = excluded.refreshed`, snap.Project, segment, now)
	return res, err
}

// refreshCheck is how often a worker looks for due refreshes: a tenth of
// the period (a segment is refreshed at most that late), from 10 ms to 1
// minute.
func refreshCheck(every time.Duration) time.Duration {
	return min(max(every/10, 10*time.Millisecond), time.Minute)
}

// RefreshDue refreshes every due time-dependent segment of the projects
// this worker follows (Refresh), each pass at one reading of the
// worker's clock (Options.Now), and publishes their events. Run calls it
// every tenth of Options.Refresh; it is exported for tests and tools. It
// returns the first error after trying every segment.
func (w *Worker) RefreshDue(ctx context.Context) (RefreshResult, error) {
	var total RefreshResult
	w.folMu.Lock()
	fols := make([]*Follower, 0, len(w.fol))
	for _, f := range w.fol {
		fols = append(fols, f)
	}
	w.folMu.Unlock()
	var first error
	for _, f := range fols {
		snap := f.Load()
		for _, seg := range TimeDependent(snap) {
			if ctx.Err() != nil {
				return total, first
			}
			start := time.Now()
			res, err := Refresh(ctx, w.pool, snap, seg, w.now(), w.opts.Refresh, drained)
			w.stats.refreshContacts.Add(int64(res.Contacts))
			w.stats.refreshEvents.Add(int64(res.Events))
			if res.Done {
				w.stats.refreshes.Add(1)
				total.Done = true
				w.log.Info("worker: segment refreshed", "project", snap.Project, "segment", seg,
					"contacts", res.Contacts, "events", res.Events, "took", time.Since(start))
			}
			total.Contacts += res.Contacts
			total.Events += res.Events
			if err != nil && first == nil {
				first = fmt.Errorf("worker: refreshing segment %s of project %s: %w", seg, snap.Project, err)
			}
		}
	}
	return total, first
}

// refresher runs RefreshDue every refreshCheck until ctx is done.
func (w *Worker) refresher(ctx context.Context) {
	ticking(ctx, refreshCheck(w.opts.Refresh), func() {
		if _, err := w.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("worker: refresh", "err", err)
		}
	})
}

// ticking runs fn every d (the first time d from now) until ctx is done:
// the loop of the worker's background duties.
func ticking(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}
