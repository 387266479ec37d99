package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/worker"
)

func newPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, worker.Install(context.Background(), pool))
	return pool
}

func seg(id, field, op string, value any, at time.Time) filter.Segment {
	return filter.Segment{ID: id, Name: id, Status: filter.StatusActive, UpdatedAt: at,
		Filters: []filter.Filter{filter.Cond(field, op, value)}}
}

// snapshot builds a Snapshot by hand (what a Follower builds).
func snapshot(t testing.TB, project string, segs []filter.Segment, deleted ...string) *worker.Snapshot {
	t.Helper()
	s := &worker.Snapshot{Project: project, Rev: map[string]int64{}, Progs: map[string]*segmatch.Program{}}
	for _, sg := range segs {
		p, err := segmatch.Compile(sg)
		require.NoError(t, err)
		s.Progs[sg.ID], s.Rev[sg.ID] = p, worker.Revision(sg)
	}
	for _, d := range deleted {
		s.Rev[d] = worker.RevisionDeleted
	}
	var err error
	s.Engine, err = engine.New(segs)
	require.NoError(t, err)
	return s
}

func classify(t testing.TB, snap *worker.Snapshot, id string, version int64, doc string) worker.Change {
	c := worker.Change{Contact: id, Version: version}
	if doc != "" {
		c.Doc = []byte(doc)
		var err error
		c.Segments, err = snap.Engine.ClassifyJSON(c.Doc)
		require.NoError(t, err)
	}
	return c
}

func memberRows(t testing.TB, pool *pgxpool.Pool, project string) []string {
	rows, err := pool.Query(context.Background(), "SELECT segment || ':' || contact FROM segmatch_members WHERE project = $1 ORDER BY 1", project)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// TestApplyOrderProof: every permutation of a contact's versions,
// delivered with repeats, ends in the membership of its newest version.
func TestApplyOrderProof(t *testing.T) {
	pool := newPool(t, pgtest.SchemaDSN(t, "worker_test"))
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	snap := snapshot(t, "p", []filter.Segment{seg("it", "country", "=", "IT", t0), seg("vip", "tags", "contains", "vip", t0)})
	_, err := worker.Announce(ctx, pool, snap)
	require.NoError(t, err)
	versions := []string{
		`{"_id":"c","_version":1,"country":"IT"}`,
		`{"_id":"c","_version":2,"country":"FR","tags":["vip"]}`,
		`{"_id":"c","_version":3,"_deleted":true}`,
		`{"_id":"c","_version":4,"country":"IT","tags":["vip"]}`,
		`{"_id":"c","_version":5,"country":"DE","tags":["vip"]}`,
	}
	want := [][]string{{"it:c"}, {"vip:c"}, nil, {"it:c", "vip:c"}, {"vip:c"}}
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 30; round++ {
		project := fmt.Sprintf("p%d", round)
		snap.Project = project
		_, err := worker.Announce(ctx, pool, snap)
		require.NoError(t, err)
		n := 1 + r.IntN(len(versions))
		order := r.Perm(n)
		order = append(order, r.Perm(n)...) // every version redelivered
		maxV := 0
		for _, i := range order {
			var p worker.Parsed
			p, err = worker.ParseContact([]byte(versions[i]), nil, "")
			require.NoError(t, err)
			doc := versions[i]
			if p.Deleted {
				doc = ""
			}
			res, err := worker.Apply(ctx, pool, snap, []worker.Change{classify(t, snap, "c", p.Version, doc)})
			require.NoError(t, err)
			if i+1 > maxV {
				require.Equal(t, 1, res.Applied)
				maxV = i + 1
			} else {
				require.Equal(t, 1, res.Stale, "version %d after %d", i+1, maxV)
				require.Empty(t, res.Events)
			}
			got := memberRows(t, pool, project)
			require.Equal(t, want[maxV-1], nilIfEmpty(got), "after version %d (max %d)", i+1, maxV)
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestRevisions: a snapshot behind the announced revisions writes
// nothing; one ahead must announce first; a recompute brings stored
// contacts to the new revision, with enter and exit events.
func TestRevisions(t *testing.T) {
	pool := newPool(t, pgtest.SchemaDSN(t, "worker_test"))
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old := snapshot(t, "p", []filter.Segment{seg("it", "country", "=", "IT", t0)})
	_, err := worker.Apply(ctx, pool, old, []worker.Change{classify(t, old, "a", 1, `{"_id":"a","country":"IT"}`)})
	var re *worker.RevisionError
	require.ErrorAs(t, err, &re)
	require.False(t, re.Behind)
	moved, err := worker.Announce(ctx, pool, old)
	require.NoError(t, err)
	require.Equal(t, []string{"it"}, moved)
	moved, err = worker.Announce(ctx, pool, old)
	require.NoError(t, err)
	require.Empty(t, moved, "announcing again moves nothing")
	var changes []worker.Change
	for i := range 5000 {
		country := []string{"IT", "FR", "DE"}[i%3]
		changes = append(changes, classify(t, old, fmt.Sprintf("c%05d", i), 1, fmt.Sprintf(`{"_id":"c%05d","country":%q}`, i, country)))
	}
	res, err := worker.Apply(ctx, pool, old, changes)
	require.NoError(t, err)
	require.Equal(t, 5000, res.Applied)
	require.Len(t, res.Events, 1667)

	edited := snapshot(t, "p", []filter.Segment{seg("it", "country", "in", []any{"IT", "FR"}, t0.Add(time.Second)), seg("de", "country", "=", "DE", t0)})
	moved, err = worker.Announce(ctx, pool, edited)
	require.NoError(t, err)
	require.Equal(t, []string{"de", "it"}, moved)
	// The old snapshot is behind now: it cannot write.
	_, err = worker.Apply(ctx, pool, old, []worker.Change{classify(t, old, "c00000", 2, `{"_id":"c00000","country":"FR"}`)})
	require.ErrorAs(t, err, &re)
	require.True(t, re.Behind)
	require.True(t, errors.Is(err, worker.ErrRevision))
	var evs int
	n, err := worker.Recompute(ctx, pool, edited, "de", 700, func(o []worker.Outboxed) { evs += len(o) })
	require.NoError(t, err)
	require.Equal(t, 5000, n)
	// "it" is still pending (as if its worker died before): any worker
	// with the revision takes it up, once.
	n, err = worker.RecomputePending(ctx, pool, old, nil)
	require.NoError(t, err)
	require.Zero(t, n, "not the snapshot's revision")
	n, err = worker.RecomputePending(ctx, pool, edited, func(o []worker.Outboxed) { evs += len(o) })
	require.NoError(t, err)
	require.Equal(t, 5000, n)
	n, err = worker.RecomputePending(ctx, pool, edited, nil)
	require.NoError(t, err)
	require.Zero(t, n, "done")
	require.Equal(t, 1667+1666, evs) // FR contacts enter "it", DE contacts enter "de"
	got := memberRows(t, pool, "p")
	require.Len(t, got, 5000)
	// Deleting "de" empties it.
	del := snapshot(t, "p", []filter.Segment{seg("it", "country", "in", []any{"IT", "FR"}, t0.Add(time.Second))}, "de")
	moved, err = worker.Announce(ctx, pool, del)
	require.NoError(t, err)
	require.Equal(t, []string{"de"}, moved)
	_, err = worker.Recompute(ctx, pool, del, "de", 0, nil)
	require.NoError(t, err)
	got = memberRows(t, pool, "p")
	require.Len(t, got, 3334)
	sort.Strings(got)
	require.Equal(t, "it:c00000", got[0])
}

// TestApplyConcurrent: batches of overlapping contacts applied at once
// from several connections end in each contact's newest version, and the
// events add up: for every (segment, contact), enters minus exits is 1
// for a final member and 0 otherwise, the enters and exits alternating
// (the diff is read after the contacts' row locks are taken, so no
// transaction diffs against memberships another one is changing). Each
// payload is the JSON of its event as stored in the outbox row.
func TestApplyConcurrent(t *testing.T) {
	pool := newPool(t, pgtest.SchemaDSN(t, "worker_test"))
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	snap := snapshot(t, "p", []filter.Segment{seg("it", "country", "=", "IT", t0), seg("vip", "tags", "contains", "vip", t0), seg("old", "age", ">=", 60, t0)})
	_, err := worker.Announce(ctx, pool, snap)
	require.NoError(t, err)
	const contacts, goroutines, rounds = 60, 4, 25
	doc := func(r *rand.Rand, id string, v int64) string {
		country := []string{"IT", "FR"}[r.IntN(2)]
		tags := []string{`[]`, `["vip"]`}[r.IntN(2)]
		return fmt.Sprintf(`{"_id":%q,"_version":%d,"country":%q,"tags":%s,"age":%d}`, id, v, country, tags, 20+r.IntN(60))
	}
	var mu sync.Mutex
	newest := map[string]worker.Change{}
	var events []worker.Outboxed
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for round := range rounds {
				var batch []worker.Change
				for _, i := range r.Perm(contacts)[:20] {
					id := fmt.Sprintf("c%02d", i)
					v := int64(1 + round*goroutines*10 + g*10 + r.IntN(10)) // distinct per goroutine, roughly increasing
					c := worker.Change{Contact: id, Version: v}
					if r.IntN(10) > 0 {
						c.Doc = []byte(doc(r, id, v))
						var err error
						if c.Segments, err = snap.Engine.ClassifyJSON(c.Doc); err != nil {
							errs <- err
							return
						}
					}
					batch = append(batch, c)
				}
				res, err := worker.Apply(ctx, pool, snap, batch)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, c := range batch {
					if c.Version > newest[c.Contact].Version {
						newest[c.Contact] = c
					}
				}
				events = append(events, res.Events...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	var want []string
	for id, c := range newest {
		for _, s := range c.Segments {
			want = append(want, s+":"+id)
		}
	}
	sort.Strings(want)
	require.Equal(t, want, memberRows(t, pool, "p"))

	// Events: per (segment, contact), in version order, alternate enter,
	// exit, ... and end entered exactly for the members.
	type key struct{ seg, contact string }
	byKey := map[key][]worker.Event{}
	for _, o := range events {
		var e worker.Event
		require.NoError(t, json.Unmarshal(o.Payload, &e))
		require.Equal(t, e.MsgID(), o.MsgID)
		byKey[key{e.Segment, e.Contact}] = append(byKey[key{e.Segment, e.Contact}], e)
	}
	member := map[key]bool{}
	for _, m := range want {
		seg, contact, _ := strings.Cut(m, ":")
		member[key{seg, contact}] = true
	}
	for k, evs := range byKey {
		sort.Slice(evs, func(i, j int) bool { return evs[i].Version < evs[j].Version })
		for i, e := range evs {
			require.Equal(t, i%2 == 0, e.Entered, "%v: event %d of %d", k, i, len(evs))
		}
		require.Equal(t, member[k], len(evs)%2 == 1, "%v", k)
	}
	for k := range member {
		require.NotEmpty(t, byKey[k], "%v: a member without its enter event", k)
	}

	// The outbox rows hold exactly the payloads Apply returned.
	rows, err := pool.Query(ctx, "SELECT events FROM segmatch_outbox ORDER BY id")
	require.NoError(t, err)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)
	var fromRows []string
	for _, b := range stored {
		var evs []json.RawMessage
		require.NoError(t, json.Unmarshal(b, &evs))
		for _, e := range evs {
			fromRows = append(fromRows, string(e))
		}
	}
	var returned []string
	for _, o := range events {
		returned = append(returned, string(o.Payload))
	}
	sort.Strings(fromRows)
	sort.Strings(returned)
	require.Equal(t, returned, fromRows)
}
