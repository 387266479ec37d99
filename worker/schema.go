// Package worker classifies contacts continuously, past one machine:
// workers consume contact changes from a NATS JetStream stream (a
// durable pull consumer shared by all of them, so each message goes to
// one worker), classify them with the engine over the project's segments
// (kept current from the store's change feed), write each contact's
// segment membership to PostgreSQL, publish enter/exit events, and ack a
// message only after its membership is committed.
//
// Membership is effectively-once under at-least-once delivery: every
// contact change carries a version, and a change is applied only when its
// version is newer than the contact's stored one (a redelivered, repeated
// or reordered change is a no-op). Segment edits are ordered the same way
// by the segment's revision (its updatedAt); see Membership.
package worker

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema creates the worker's tables (idempotent).
//
//   - segmatch_contacts: one row per (project, contact): the last version
//     applied and its document (NULL for a deletion, a versioned
//     tombstone). The row is the contact's order guard: a change is
//     applied only when `excluded.version > version`, and the row lock
//     taken by that upsert serialises every membership write of the
//     contact until commit.
//   - segmatch_members: a row per (project, segment, contact) for members
//     only, with the contact version and segment revision that made the
//     contact enter. An exit deletes the row (and is an event).
//   - segmatch_segrev: the segment revisions the workers classify with,
//     per project; a worker whose engine disagrees does not commit.
//     revision is the segment's updatedAt in Unix nanoseconds;
//     RevisionDeleted for a deleted segment. pending: the stored
//     contacts are not all recomputed at this revision yet (see
//     RecomputePending).
//   - segmatch_counts: each segment's member count, moved in the
//     transaction that moves its memberships (counts.go).
//   - segmatch_outbox: enter/exit events written with the membership, in
//     the same transaction (one row a transaction: a JSON array of
//     Event), deleted once JetStream has them all.
const Schema = `
CREATE TABLE IF NOT EXISTS segmatch_contacts (
	project text NOT NULL,
	contact text NOT NULL,
	version bigint NOT NULL,
	doc bytea,
	PRIMARY KEY (project, contact)
);
CREATE TABLE IF NOT EXISTS segmatch_members (
	project text NOT NULL,
	segment text NOT NULL,
	contact text NOT NULL,
	version bigint NOT NULL,
	revision bigint NOT NULL,
	PRIMARY KEY (project, segment, contact)
);
CREATE INDEX IF NOT EXISTS segmatch_members_contact ON segmatch_members (project, contact);
CREATE TABLE IF NOT EXISTS segmatch_segrev (
	project text NOT NULL,
	segment text NOT NULL,
	revision bigint NOT NULL,
	pending boolean NOT NULL DEFAULT true,
	PRIMARY KEY (project, segment)
);
CREATE TABLE IF NOT EXISTS segmatch_outbox (
	id bigserial PRIMARY KEY,
	events bytea NOT NULL,
	created timestamptz NOT NULL DEFAULT now()
);
`

// Install creates the worker's tables when missing. Concurrent installs
// are serialised by an advisory lock.
func Install(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('segmatch_worker_schema'))"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, Schema); err != nil {
		return fmt.Errorf("worker: creating tables: %w", err)
	}
	if err := installCounts(ctx, tx); err != nil {
		return fmt.Errorf("worker: creating the member counts: %w", err)
	}
	return tx.Commit(ctx)
}
