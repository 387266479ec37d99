package worker

import (
	"context"
	"math/rand/v2"
	"sort"

	"github.com/jackc/pgx/v5"
)

// countShards spreads a segment's member count over rows, so that
// transactions entering contacts into the same segment at once rarely
// wait for each other's row lock.
const countShards = 16

// countsSchema keeps each segment's member count, written in the
// transaction that writes the memberships (so it is exact, in every
// snapshot): a count is one index range of countShards rows, whatever
// the segment's size.
const countsSchema = `CREATE TABLE segmatch_counts (
	project text NOT NULL,
	segment text NOT NULL,
	shard smallint NOT NULL,
	members bigint NOT NULL,
	PRIMARY KEY (project, segment, shard)
)`

// installCounts creates segmatch_counts when it is missing, from the
// memberships already written (under Install's lock).
func installCounts(ctx context.Context, tx pgx.Tx) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('segmatch_counts') IS NOT NULL").Scan(&exists); err != nil || exists {
		return err
	}
	if _, err := tx.Exec(ctx, countsSchema); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO segmatch_counts (project, segment, shard, members)
		SELECT project, segment, 0, count(*) FROM segmatch_members GROUP BY project, segment`)
	return err
}

// queueCounts queues on b the change that events (one transaction's
// enters and exits, each a real change of membership) make to their
// segments' counts, on one shard picked at random, the rows locked in
// segment order. It reports whether it queued a statement (not when the
// events leave every count as it was).
func queueCounts(b *pgx.Batch, project string, events []Event) (queued bool) {
	delta := map[string]int64{}
	for _, e := range events {
		if e.Entered {
			delta[e.Segment]++
		} else {
			delta[e.Segment]--
		}
	}
	segs := make([]string, 0, len(delta))
	for s, d := range delta {
		if d != 0 {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return false
	}
	sort.Strings(segs)
	ds := make([]int64, len(segs))
	for i, s := range segs {
		ds[i] = delta[s]
	}
	b.Queue(`INSERT INTO segmatch_counts AS c (project, segment, shard, members)
		SELECT $1, s, $2, d FROM unnest($3::text[], $4::bigint[]) AS u(s, d) ORDER BY s
		ON CONFLICT (project, segment, shard) DO UPDATE SET members = c.members + excluded.members`,
		project, int16(rand.IntN(countShards)), segs, ds)
	return true
}

// countQuery is a segment's member count.
const countQuery = "SELECT coalesce(sum(members), 0)::bigint FROM segmatch_counts WHERE project = $1 AND segment = $2"
