package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Change is one contact change to apply: a new version of the contact
// (Doc, classified into Segments), or its deletion (Doc nil).
type Change struct {
	Contact  string
	Version  int64
	Doc      []byte
	Segments []string // the segments Doc belongs to, under the snapshot
}

// Event is one enter or exit of a contact in a segment, published to
// EventSubject(project) with EventMsgID as its Nats-Msg-Id.
type Event struct {
	Project  string `json:"project"`
	Contact  string `json:"contact"`
	Segment  string `json:"segment"`
	Entered  bool   `json:"entered"`
	Version  int64  `json:"version"`  // the contact version
	Revision int64  `json:"revision"` // the segment revision
}

// EventSubjectPrefix is where enter/exit events go:
// segmatch.events.<project>.
const EventSubjectPrefix = "segmatch.events"

// MsgID is the event's deduplication id: the same transition (contact,
// version, segment, segment revision, enter or exit) always gets the same
// id, so a republished event is dropped by JetStream. The revision is
// part of it because a segment edit changes a membership without a new
// contact version.
func (e Event) MsgID() string {
	dir := "exit"
	if e.Entered {
		dir = "enter"
	}
	return e.Project + "|" + e.Contact + "|" + strconv.FormatInt(e.Version, 10) + "|" + e.Segment + "|" + strconv.FormatInt(e.Revision, 10) + "|" + dir
}

// RevisionError says the snapshot a batch was classified with is not the
// revision the workers agreed on for a segment: Behind (another worker
// announced a newer revision: refresh and classify again) or ahead
// (announce it first: Announce).
type RevisionError struct {
	Project, Segment string
	Have, Want       int64 // the snapshot's (0: unknown), the table's (0: none)
	Behind           bool
}

func (e *RevisionError) Error() string {
	state := "ahead of"
	if e.Behind {
		state = "behind"
	}
	return fmt.Sprintf("worker: project %s segment %s: the engine's revision %d is %s the workers' %d", e.Project, e.Segment, e.Have, state, e.Want)
}

// ErrRevision is matched by every *RevisionError.
var ErrRevision = errors.New("segment revision mismatch")

func (e *RevisionError) Is(target error) bool { return target == ErrRevision }

// lockKey is the per-project advisory lock: shared by every membership
// transaction, exclusive while the project's segment revisions change.
func lockKey(project string) string { return "segmatch_worker:" + project }

// checkRevisions compares the table's revisions (rows of
// revisionsQuery) with snap's.
func checkRevisions(rows pgx.Rows, snap *Snapshot) error {
	defer rows.Close()
	seen := map[string]bool{}
	var mismatch *RevisionError
	for rows.Next() {
		var seg string
		var rev int64
		if err := rows.Scan(&seg, &rev); err != nil {
			return err
		}
		seen[seg] = true
		have, ok := snap.Rev[seg]
		if mismatch == nil && (!ok || have != rev) {
			mismatch = &RevisionError{Project: snap.Project, Segment: seg, Have: have, Want: rev, Behind: !ok || have < rev}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if mismatch != nil {
		return mismatch
	}
	for seg, have := range snap.Rev {
		if !seen[seg] {
			return &RevisionError{Project: snap.Project, Segment: seg, Have: have}
		}
	}
	return nil
}

const revisionsQuery = "SELECT segment, revision FROM segmatch_segrev WHERE project = $1"

// Announce records snap's revisions as the workers' (each only when
// newer), under the project's exclusive lock, so that every membership
// transaction committed before used the older revisions and every one
// after checks against these. It returns the segments whose revision
// moved, which must be recomputed over the stored contacts (Recompute).
func Announce(ctx context.Context, pool *pgxpool.Pool, snap *Snapshot) (moved []string, err error) {
	err = retryTx(ctx, pool, func(tx pgx.Tx) error {
		moved = moved[:0]
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", lockKey(snap.Project)); err != nil {
			return err
		}
		segs := make([]string, 0, len(snap.Rev))
		revs := make([]int64, 0, len(snap.Rev))
		for s, r := range snap.Rev {
			segs = append(segs, s)
			revs = append(revs, r)
		}
		rows, err := tx.Query(ctx, `INSERT INTO segmatch_segrev AS t (project, segment, revision)
			SELECT $1, s, r FROM unnest($2::text[], $3::bigint[]) AS u(s, r) ORDER BY s
			ON CONFLICT (project, segment) DO UPDATE SET revision = excluded.revision, pending = true
			WHERE excluded.revision > t.revision
			RETURNING segment`, snap.Project, segs, revs)
		if err != nil {
			return err
		}
		moved, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	sort.Strings(moved)
	return moved, err
}

// ApplyResult says what a batch did.
type ApplyResult struct {
	Applied int // changes newer than the stored contact
	Stale   int // changes not newer (duplicates, redeliveries, reordering)
	Events  []Outboxed
}

// Apply writes a batch of one project's changes in one transaction: each
// change whose version is newer than the contact's stored one replaces
// it (others are stale and change nothing), the contact's memberships
// become the change's segments, and every enter and exit is written to
// the outbox. changes must hold one change per contact (the newest
// version); Apply sorts them, so concurrent batches lock contacts in one
// order. A snapshot whose revisions are not the workers' is a
// *RevisionError and writes nothing.
//
// Four round trips: BEGIN; the shared lock, the revision check, the
// contacts upsert and the batch's memberships, pipelined (a revision
// mismatch rolls the upsert back); the exits, the enters and the outbox
// row, pipelined; COMMIT. The memberships are read by the statement
// after the upsert (the server runs a pipeline's statements one after
// another, each with its own snapshot under READ COMMITTED): its
// snapshot is taken once the upsert holds the contacts' row locks, so it
// sees every membership write committed for them before.
func Apply(ctx context.Context, pool *pgxpool.Pool, snap *Snapshot, changes []Change) (ApplyResult, error) {
	sort.Slice(changes, func(i, j int) bool { return changes[i].Contact < changes[j].Contact })
	ids := make([]string, len(changes))
	vers := make([]int64, len(changes))
	docs := make([][]byte, len(changes))
	byID := make(map[string]*Change, len(changes))
	for i := range changes {
		c := &changes[i]
		ids[i], vers[i], docs[i] = c.Contact, c.Version, c.Doc
		byID[c.Contact] = c
	}
	var res ApplyResult
	err := retryTx(ctx, pool, func(tx pgx.Tx) error {
		res = ApplyResult{}
		b := &pgx.Batch{}
		b.Queue("SELECT pg_advisory_xact_lock_shared(hashtext($1))", lockKey(snap.Project))
		b.Queue(revisionsQuery, snap.Project)
		b.Queue(upsertContactsSQL, snap.Project, ids, vers, docs)
		b.Queue(membersOfContactsSQL, snap.Project, ids)
		br := tx.SendBatch(ctx, b)
		var applied []string
		var before map[string]map[string]pgtype.TID
		err := func() error {
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			rows, err := br.Query()
			if err != nil {
				return err
			}
			if err := checkRevisions(rows, snap); err != nil {
				return err
			}
			rows, err = br.Query()
			if err != nil {
				return err
			}
			if applied, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			rows, err = br.Query()
			if err != nil {
				return err
			}
			before, err = scanMembers(rows)
			return err
		}()
		if err != nil {
			return err
		}
		res.Applied, res.Stale = len(applied), len(changes)-len(applied)
		if len(applied) == 0 {
			return nil
		}
		var w membershipWrite
		for _, id := range applied {
			c := byID[id]
			was := before[id]
			now := make(map[string]bool, len(c.Segments))
			for _, s := range c.Segments {
				now[s] = true
				if _, ok := was[s]; !ok {
					w.add(Event{Project: snap.Project, Contact: id, Segment: s, Entered: true, Version: c.Version, Revision: snap.Rev[s]}, pgtype.TID{})
				}
			}
			for s, tid := range was {
				if !now[s] {
					w.add(Event{Project: snap.Project, Contact: id, Segment: s, Version: c.Version, Revision: snap.Rev[s]}, tid)
				}
			}
		}
		res.Events, err = w.write(ctx, tx, snap.Project)
		return err
	})
	return res, err
}

// upsertContactsSQL stores the changes newer than the stored contacts,
// in contact order, and returns the contacts it stored.
const upsertContactsSQL = `INSERT INTO segmatch_contacts AS t (project, contact, version, doc)
	SELECT $1, c, v, d FROM unnest($2::text[], $3::bigint[], $4::bytea[]) AS u(c, v, d) ORDER BY c
	ON CONFLICT (project, contact) DO UPDATE SET version = excluded.version, doc = excluded.doc
	WHERE excluded.version > t.version
	RETURNING contact`

// membersOfContactsSQL reads the memberships of the contacts $2, with
// their row ids: one probe of the contacts index per contact, whatever
// the table's size (OFFSET 0 keeps the planner from turning the lateral
// probe into a join that scans the project's memberships).
const membersOfContactsSQL = `SELECT x.tid, a.c, x.segment FROM unnest($2::text[]) AS a(c)
	CROSS JOIN LATERAL (SELECT m.ctid AS tid, m.segment FROM segmatch_members m
		WHERE m.project = $1 AND m.contact = a.c OFFSET 0) AS x`

// members returns the memberships a query (project, its arguments)
// selects as rows (row id, contact, segment): contact -> segment -> row
// id. The row ids stay valid until the transaction ends, since it holds
// the contacts' locks that every membership write takes first.
func members(ctx context.Context, tx pgx.Tx, query, project string, args ...any) (map[string]map[string]pgtype.TID, error) {
	rows, err := tx.Query(ctx, query, append([]any{project}, args...)...)
	if err != nil {
		return nil, err
	}
	return scanMembers(rows)
}

// scanMembers reads rows of (row id, contact, segment) (see members).
func scanMembers(rows pgx.Rows) (map[string]map[string]pgtype.TID, error) {
	defer rows.Close()
	out := map[string]map[string]pgtype.TID{}
	for rows.Next() {
		var tid pgtype.TID
		var c, s string
		if err := rows.Scan(&tid, &c, &s); err != nil {
			return nil, err
		}
		m := out[c]
		if m == nil {
			m = map[string]pgtype.TID{}
			out[c] = m
		}
		m[s] = tid
	}
	return out, rows.Err()
}

// membershipWrite collects a transaction's enters and exits (with the
// row id of each exit's membership).
type membershipWrite struct {
	events []Event
	exits  []pgtype.TID
}

func (w *membershipWrite) add(e Event, tid pgtype.TID) {
	w.events = append(w.events, e)
	if !e.Entered {
		w.exits = append(w.exits, tid)
	}
}

// write applies the enters and exits and stores them in the outbox, in
// one round trip: the exits deleted by row id (a TID scan, never a join
// against the project's memberships), the enters inserted in (segment,
// contact) order (each must be new: the memberships were read under the
// contacts' locks), the segments' counts moved, the outbox row.
func (w *membershipWrite) write(ctx context.Context, tx pgx.Tx, project string) ([]Outboxed, error) {
	if len(w.events) == 0 {
		return nil, nil
	}
	sort.Slice(w.events, func(i, j int) bool {
		a, b := w.events[i], w.events[j]
		if a.Segment != b.Segment {
			return a.Segment < b.Segment
		}
		return a.Contact < b.Contact
	})
	var inS, inC []string
	var inV, inR []int64
	for _, e := range w.events {
		if e.Entered {
			inS, inC, inV, inR = append(inS, e.Segment), append(inC, e.Contact), append(inV, e.Version), append(inR, e.Revision)
		}
	}
	b := &pgx.Batch{}
	if len(w.exits) > 0 {
		b.Queue("DELETE FROM segmatch_members WHERE ctid = ANY($1::tid[])", w.exits)
	}
	if len(inS) > 0 {
		b.Queue(`INSERT INTO segmatch_members AS t (project, segment, contact, version, revision)
			SELECT $1, s, c, v, r FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(s, c, v, r)
			ON CONFLICT (project, segment, contact) DO NOTHING`,
			project, inS, inC, inV, inR)
	}
	counted := queueCounts(b, project, w.events)
	row, out, err := outboxRow(w.events)
	if err != nil {
		return nil, err
	}
	b.Queue(insertOutboxSQL, row)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if len(w.exits) > 0 {
		tag, err := br.Exec()
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() != int64(len(w.exits)) {
			return nil, fmt.Errorf("worker: %d exits deleted %d memberships", len(w.exits), tag.RowsAffected())
		}
	}
	if len(inS) > 0 {
		tag, err := br.Exec()
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() != int64(len(inS)) {
			return nil, fmt.Errorf("worker: %d enters inserted %d memberships", len(inS), tag.RowsAffected())
		}
	}
	if counted {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	var id int64
	if err := br.QueryRow().Scan(&id); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].ID = id
	}
	return out, br.Close()
}

// Recompute classifies every stored contact's last version into segment
// under snap (a deleted segment, or one that does not compile, holds
// nobody), batch by batch in contact order, each batch in a transaction
// holding the contacts FOR SHARE (so no worker changes them meanwhile)
// and the project's shared lock, checking the segment's revision is still
// snap's (a newer one has its own recompute: this one stops). emit gets
// each batch's events after its commit.
func Recompute(ctx context.Context, pool *pgxpool.Pool, snap *Snapshot, segment string, batch int, emit func([]Outboxed)) (contacts int, err error) {
	if batch <= 0 {
		batch = 2000
	}
	prog := snap.Progs[segment]
	rev := snap.Rev[segment]
	cursor := ""
	for {
		var n int
		var last string
		var evs []Outboxed
		stop := false
		err := retryTx(ctx, pool, func(tx pgx.Tx) error {
			n, last, evs, stop = 0, "", nil, false
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared(hashtext($1))", lockKey(snap.Project)); err != nil {
				return err
			}
			var cur int64
			err := tx.QueryRow(ctx, "SELECT revision FROM segmatch_segrev WHERE project = $1 AND segment = $2", snap.Project, segment).Scan(&cur)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if cur != rev {
				stop = true
				return nil
			}
			rows, err := tx.Query(ctx, `SELECT contact, version, doc FROM segmatch_contacts
				WHERE project = $1 AND contact > $2 ORDER BY contact LIMIT $3 FOR SHARE`, snap.Project, cursor, batch)
			if err != nil {
				return err
			}
			type row struct {
				id  string
				ver int64
				doc []byte
			}
			var got []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.ver, &r.doc); err != nil {
					rows.Close()
					return err
				}
				got = append(got, r)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			n = len(got)
			if n == 0 {
				return nil
			}
			last = got[n-1].id
			before, err := members(ctx, tx, `SELECT ctid, contact, segment FROM segmatch_members
				WHERE project = $1 AND segment = $2 AND contact > $3 AND contact <= $4`, snap.Project, segment, cursor, last)
			if err != nil {
				return err
			}
			var w membershipWrite
			for _, r := range got {
				in := false
				if r.doc != nil && prog != nil && rev != RevisionDeleted {
					in, _ = prog.MatchJSON(r.doc)
				}
				tid, was := before[r.id][segment]
				if in != was {
					w.add(Event{Project: snap.Project, Contact: r.id, Segment: segment, Entered: in, Version: r.ver, Revision: rev}, tid)
				}
			}
			evs, err = w.write(ctx, tx, snap.Project)
			return err
		})
		if err != nil {
			return contacts, err
		}
		if stop {
			return contacts, nil
		}
		contacts += n
		if len(evs) > 0 && emit != nil {
			emit(evs)
		}
		if n < batch {
			_, err := pool.Exec(ctx, "UPDATE segmatch_segrev SET pending = false WHERE project = $1 AND segment = $2 AND revision = $3", snap.Project, segment, rev)
			return contacts, err
		}
		cursor = last
	}
}

// RecomputePending recomputes every segment of the project whose
// revision moved and whose recompute has not finished (Recompute), when
// snap has that revision: each under a session advisory lock taken with
// pg_try_advisory_lock, so one worker does it at a time, and a worker
// that dies mid-way releases it (its session ends) for another to start
// over (a recompute only writes differences, so starting over is safe).
func RecomputePending(ctx context.Context, pool *pgxpool.Pool, snap *Snapshot, emit func([]Outboxed)) (contacts int, err error) {
	rows, err := pool.Query(ctx, "SELECT segment, revision FROM segmatch_segrev WHERE project = $1 AND pending ORDER BY segment", snap.Project)
	if err != nil {
		return 0, err
	}
	type pend struct {
		seg string
		rev int64
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pend, error) {
		var p pend
		return p, r.Scan(&p.seg, &p.rev)
	})
	if err != nil {
		return 0, err
	}
	for _, p := range todo {
		if have, ok := snap.Rev[p.seg]; !ok || have != p.rev {
			continue // another snapshot's: its worker, or this one later
		}
		n, err := recomputeClaimed(ctx, pool, snap, p.seg, emit)
		contacts += n
		if err != nil {
			return contacts, err
		}
	}
	return contacts, nil
}

func recomputeClaimed(ctx context.Context, pool *pgxpool.Pool, snap *Snapshot, segment string, emit func([]Outboxed)) (int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	key := "segmatch_recompute:" + snap.Project + ":" + segment
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", key).Scan(&got); err != nil || !got {
		return 0, err
	}
	defer func() {
		_, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", key)
	}()
	return Recompute(ctx, pool, snap, segment, 2000, emit)
}

// retryTx runs fn in a transaction, again on a deadlock or serialization
// failure (up to 10 times).
func retryTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	for try := 0; ; try++ {
		err := pgx.BeginFunc(ctx, pool, fn)
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") && try < 10 {
			continue
		}
		return err
	}
}
