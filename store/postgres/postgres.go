// Package postgres is a store.Store kept in PostgreSQL, so that several
// `segmatch serve` instances share one set of segments.
//
// Each segment is one row (project, id) holding its record as JSON text,
// its version and its status. Writes run in a transaction that locks the
// row (SELECT ... FOR UPDATE), applies the shared store rules
// (store.Record.Apply / Delete), and writes back only if the version is
// still the one read (UPDATE ... WHERE version = $old), so concurrent
// writers, in this process or another, never lose an update; a stale
// SegmentUpdate.IfUpdatedAt is store.ErrConflict.
//
// The change feed crosses instances: every write inserts its event into an
// events table and, in the same transaction, NOTIFYs the event's sequence
// number and project ("seq:project"). PostgreSQL delivers notifications at
// commit, in commit order, to every listening session; each Store LISTENs
// on one dedicated connection and publishes what it hears to its local
// store.Feed, its own writes included. Watch sends a marker notification
// and subscribes when the listener reaches it, so exactly the writes
// committed after Watch returns are delivered. Events older than an hour
// are pruned; an event the listener cannot read back is replaced by an
// EventResync for its project.
//
// The listener survives a dropped connection (a restart or failover of the
// server, pg_terminate_backend, a network cut; after 30s without a
// notification it pings, and a connection that does not answer within 10s
// counts as dropped): it reconnects with a bounded, jittered exponential
// backoff (a delay drawn from [d/2, d], d doubling from 100ms to 5s;
// WithReconnectBackoff), LISTENs again, and only then queues one
// EventResync on every Watch channel, since what was committed while it
// was not listening went unheard: a subscriber that re-reads with List on
// the resync sees every write of the outage, and the events that follow
// are again complete. Watch channels stay open throughout (only Close ends
// them); a Watch made during the outage is answered once the listener is
// back (or fails with ErrWatchTimeout, or with the connection error when
// its marker cannot be sent), and writers waiting for their own event are
// released by the resync. An idle pooled connection is checked before use
// (pgconn's CheckConn), so the first calls after a restart do not fail on
// connections the server closed.
//
// The record is kept as JSON text, not jsonb: jsonb cannot hold U+0000,
// which a segment's values may contain.
//
// Limits (store.Limits) are checked inside the write's transaction under
// a per-project transaction-scoped advisory lock, taken before any row
// lock, so that writes of one project, from any instance, count and sum
// its active segments (column size, the compiled size) one at a time.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Store is a store.Store in PostgreSQL. It is safe for concurrent use.
type Store struct {
	cfg     config
	connCfg *pgx.ConnConfig
	channel string
	feed    *store.Feed
	ids     store.IDGen

	pool   chan idleConn // idle connections
	slots  chan struct{} // one per connection allowed
	closed atomic.Bool

	stopListen context.CancelFunc
	listenDone chan struct{}
	listenPID  atomic.Uint32 // the listening backend's process id
	reconnects atomic.Int64  // how many times the listener reconnected

	mu      sync.Mutex
	pending map[string]*watcher     // Watch markers awaiting the listener
	waiting map[int64]chan struct{} // writes awaiting the publication of their event
	writes  atomic.Int64
}

var _ store.Store = (*Store)(nil)

// idleConn is a pooled connection and since when it is idle.
type idleConn struct {
	c     *pgx.Conn
	since time.Time
}

// checkIdle: a connection idle longer than this is checked before use
// (pgconn.CheckConn: a read of at most 1ms that reveals a connection the
// server closed, as a restart does), as pgxpool does.
const checkIdle = time.Second

type watcher struct {
	ctx     context.Context
	project string
	reply   chan watchReply
}

type watchReply struct {
	ch  <-chan store.Event
	err error
}

// Option configures a Store.
type Option func(*config)

type config struct {
	now          func() time.Time
	watchBuffer  int
	maxConns     int
	watchTimeout time.Duration // how long Watch waits for the listener
	limits       store.Limits
	backoffMin   time.Duration // the listener's first reconnection delay
	backoffMax   time.Duration // and its bound
	heartbeat    time.Duration // the listener pings after this long without a notification
}

// WithReconnectBackoff sets the delays between the listener's attempts to
// reconnect after its connection drops: each is drawn from [d/2, d], d
// starting at min and doubling up to max (default 100ms and 5s).
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = min, max }
}

// WithLimits sets the limits of each project (default store.DefaultLimits;
// zero fields take the defaults). Every instance sharing the database
// should use the same.
func WithLimits(l store.Limits) Option { return func(c *config) { c.limits = l.Resolved() } }

// WithClock sets the clock for ids and timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithWatchBuffer sets how many events a Watch subscription buffers
// (default store.DefaultWatchBuffer).
func WithWatchBuffer(n int) Option { return func(c *config) { c.watchBuffer = n } }

// WithMaxConns bounds the connections used for reads and writes (default
// 8), besides the one that listens.
func WithMaxConns(n int) Option { return func(c *config) { c.maxConns = n } }

const schemaSQL = `
CREATE TABLE IF NOT EXISTS segmatch_segments (
	project    text        NOT NULL,
	id         text        NOT NULL,
	version    bigint      NOT NULL,
	status     int         NOT NULL,
	updated_at timestamptz NOT NULL,
	record     text        NOT NULL,
	PRIMARY KEY (project, id)
);
CREATE TABLE IF NOT EXISTS segmatch_events (
	seq     bigserial   PRIMARY KEY,
	at      timestamptz NOT NULL DEFAULT now(),
	project text        NOT NULL,
	type    int         NOT NULL,
	version bigint      NOT NULL,
	record  text        NOT NULL
);
CREATE INDEX IF NOT EXISTS segmatch_events_at ON segmatch_events (at);
ALTER TABLE segmatch_segments ADD COLUMN IF NOT EXISTS size bigint;
CREATE INDEX IF NOT EXISTS segmatch_segments_active ON segmatch_segments (project) INCLUDE (size) WHERE status <> 0;
`

// activeRows restricts a query of segmatch_segments to active segments,
// the only ones the limits count and List returns. It is a literal, the
// predicate of the partial index segmatch_segments_active, so that every
// plan (a cached statement's generic one too) can use that index:
// counting a project's usage reads its active rows, not the deleted ones
// it keeps forever.
const activeRows = "status <> 0"

// A compile-time check that filter.StatusDeleted is the 0 of activeRows
// and of the index.
var _ = [1]struct{}{}[filter.StatusDeleted]

// usageSQL counts and sums a project's active segments.
const usageSQL = `SELECT count(*), COALESCE(sum(size), 0), count(*) FILTER (WHERE size IS NULL)
	FROM segmatch_segments WHERE project = $1 AND ` + activeRows

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string; search_path selects the schema), creates the tables if needed
// and starts listening for changes.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, maxConns: 8, watchTimeout: 30 * time.Second, limits: store.DefaultLimits,
		backoffMin: 100 * time.Millisecond, backoffMax: 5 * time.Second, heartbeat: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxConns < 1 {
		cfg.maxConns = 1
	}
	if cfg.backoffMin <= 0 {
		cfg.backoffMin = 100 * time.Millisecond
	}
	cfg.backoffMax = max(cfg.backoffMax, cfg.backoffMin)
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("segment store: %w", err)
	}
	s := &Store{
		cfg: cfg, connCfg: connCfg, feed: store.NewFeed(cfg.watchBuffer),
		pool: make(chan idleConn, cfg.maxConns), slots: make(chan struct{}, cfg.maxConns),
		pending: map[string]*watcher{}, waiting: map[int64]chan struct{}{},
	}
	conn, err := pgx.ConnectConfig(ctx, connCfg)
	if err != nil {
		return nil, fmt.Errorf("segment store: %w", err)
	}
	fail := func(err error) (*Store, error) {
		conn.Close(context.Background())
		return nil, fmt.Errorf("segment store: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7301982)"); err != nil {
		return fail(err)
	}
	_, err = conn.Exec(ctx, schemaSQL+leadsSchemaSQL)
	_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock(7301982)")
	if err != nil {
		return fail(err)
	}
	var schema, maxID string
	if err := conn.QueryRow(ctx, "SELECT current_schema(), COALESCE((SELECT max(id) FROM segmatch_segments), '')").Scan(&schema, &maxID); err != nil {
		return fail(err)
	}
	s.ids.Observe(maxID)
	s.channel = "segmatch_events:" + schema
	if len(s.channel) > 63 {
		s.channel = s.channel[:63]
	}
	if _, err := conn.Exec(ctx, s.listenSQL()); err != nil {
		return fail(err)
	}
	s.listenPID.Store(conn.PgConn().PID())
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	s.listenDone = make(chan struct{})
	go s.listen(lctx, conn)
	return s, nil
}

func (s *Store) listenSQL() string { return "LISTEN " + pgx.Identifier{s.channel}.Sanitize() }

// listen publishes the notifications it hears, in commit order. It owns
// conn; when conn drops, it reconnects (see the package doc).
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.listenDone)
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil {
			s.handle(ctx, n.Payload)
			continue
		}
		if ctx.Err() != nil {
			return // Close
		}
		if wctx.Err() != nil && !conn.IsClosed() && s.ping(ctx, conn) == nil {
			continue // quiet, and still there (a timeout leaves a pgx connection usable)
		}
		conn.Close(context.Background())
		if conn = s.relisten(ctx); conn == nil {
			return // closed while reconnecting
		}
		s.recovered()
	}
}

// ping checks the listener's connection after a quiet heartbeat period,
// so that one gone silently (a network cut that sends no reset) is
// noticed, within min(heartbeat, 10s), rather than never.
func (s *Store) ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, min(s.cfg.heartbeat, 10*time.Second))
	defer cancel()
	return conn.Ping(ctx)
}

// relisten connects and LISTENs again, after a jittered, exponentially
// growing delay before each attempt; nil when ctx ends first.
func (s *Store) relisten(ctx context.Context) *pgx.Conn {
	d := s.cfg.backoffMin
	for {
		t := time.NewTimer(d/2 + mrand.N(d/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if conn, err := s.connectListener(ctx); err == nil {
			return conn
		}
		d = min(2*d, s.cfg.backoffMax)
	}
}

// connectListener opens a connection that LISTENs on the store's channel.
func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, s.listenSQL()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	s.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

// recovered runs once the listener listens again after a drop: whatever
// was committed meanwhile went unheard, so every subscriber gets a resync
// (after which List shows it); the writers waiting for their event are
// released (the resync stands for it), and the Watch calls whose marker
// may have been lost are answered now (every write committed from now on
// is heard, and they return after this).
func (s *Store) recovered() {
	s.reconnects.Add(1)
	s.feed.ResyncAll()
	s.mu.Lock()
	pending, waiting := s.pending, s.waiting
	s.pending, s.waiting = map[string]*watcher{}, map[int64]chan struct{}{}
	s.mu.Unlock()
	for _, ch := range waiting {
		close(ch)
	}
	for _, w := range pending {
		ch, err := s.feed.Subscribe(w.ctx, w.project)
		w.reply <- watchReply{ch, err}
	}
}

func (s *Store) handle(ctx context.Context, payload string) {
	if token, ok := strings.CutPrefix(payload, "sync:"); ok {
		s.mu.Lock()
		w := s.pending[token]
		delete(s.pending, token)
		s.mu.Unlock()
		if w != nil {
			ch, err := s.feed.Subscribe(w.ctx, w.project)
			w.reply <- watchReply{ch, err}
		}
		return
	}
	// An event: "seq:project" (a bare "seq" from an older writer).
	num, project, _ := strings.Cut(payload, ":")
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return // not ours: no writer waits for it
	}
	defer s.published(seq) // whatever happens, the writer stops waiting
	// A server that hangs stalls the listener no longer than this.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var typ int
	var version int64
	var body string
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT type, version, record, project FROM segmatch_events WHERE seq = $1", seq).Scan(&typ, &version, &body, &project)
	})
	var rec store.Record
	if err == nil {
		rec, err = decode(body, version)
	}
	switch {
	case err == nil:
		s.feed.Publish(rec.Event(store.EventType(typ)))
	case project != "":
		// Pruned, unreadable or unreachable: the event is lost, so the
		// project's subscribers must re-read (see store.Store.Watch).
		s.feed.Publish(store.Event{Type: store.EventResync, Project: project})
	default:
		s.feed.ResyncAll() // lost, and whose it was is unknown
	}
}

// published ends the wait of the writer of event seq, if any.
func (s *Store) published(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.waiting[seq]; w != nil {
		close(w)
		delete(s.waiting, seq)
	}
}

// withConn runs fn on a pooled connection. An idle one that the server
// closed meanwhile (a restart) is dropped for another, so that the first
// call after an outage does not fail for it.
func (s *Store) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	if c.IsClosed() || s.closed.Load() || (err != nil && !isClean(err)) {
		c.Close(context.Background())
		<-s.slots
		return err
	}
	s.pool <- idleConn{c, time.Now()}
	return err
}

// acquire takes an idle connection (checked when idle for a while) or
// opens one within the bound.
func (s *Store) acquire(ctx context.Context) (*pgx.Conn, error) {
	for {
		var ic idleConn
		select {
		case ic = <-s.pool:
		default:
			select {
			case ic = <-s.pool:
			case s.slots <- struct{}{}:
				c, err := pgx.ConnectConfig(ctx, s.connCfg)
				if err != nil {
					<-s.slots
					return nil, err
				}
				return c, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if time.Since(ic.since) < checkIdle || ic.c.PgConn().CheckConn() == nil {
			return ic.c, nil
		}
		ic.c.Close(context.Background())
		<-s.slots
	}
}

// isClean: the error leaves the connection usable.
func isClean(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pe) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrLimit)
}

func (s *Store) begin(ctx context.Context, project string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	return store.CheckProject(project)
}

// decode reads a stored record; the version column is authoritative (it
// is the one UPDATE ... WHERE version = $old checks).
func decode(body string, version int64) (store.Record, error) {
	rec, err := store.DecodeRecord([]byte(body))
	if err != nil {
		return store.Record{}, err
	}
	rec.Version = uint64(version)
	return rec, nil
}

// write runs fn in a transaction; fn returns the record to save (nil: no
// change) and the event type. prev is the version fn read (0 for a new
// row), checked again by the UPDATE.
//
// It returns once this store's feed has published the event (or, when
// the event could not be read back, a resync in its place), so that a
// caller's own write is on its Watch channels when the call returns; it
// stops waiting early if ctx is done or the store closes, and after 10s
// (a listener reconnecting releases it with its resync).
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) (rec *store.Record, prev uint64, typ store.EventType, err error)) error {
	var published chan struct{}
	var seq int64
	defer func() {
		if published != nil {
			s.mu.Lock()
			delete(s.waiting, seq)
			s.mu.Unlock()
		}
	}()
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			rec, prev, typ, err := fn(tx)
			if err != nil || rec == nil {
				return err
			}
			b, err := store.EncodeRecord(*rec)
			if err != nil {
				return err
			}
			body := string(b)
			seg := &rec.Segment
			var size *int64 // NULL when unknown
			if rec.Size >= 0 {
				size = &rec.Size
			}
			if prev == 0 {
				_, err = tx.Exec(ctx, `INSERT INTO segmatch_segments (project, id, version, status, updated_at, record, size) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
					seg.IDProject, seg.ID, int64(rec.Version), seg.Status, seg.UpdatedAt, body, size)
			} else {
				var tag pgconn.CommandTag
				tag, err = tx.Exec(ctx, `UPDATE segmatch_segments SET version = $3, status = $4, updated_at = $5, record = $6, size = $8 WHERE project = $1 AND id = $2 AND version = $7`,
					seg.IDProject, seg.ID, int64(rec.Version), seg.Status, seg.UpdatedAt, body, int64(prev), size)
				if err == nil && tag.RowsAffected() != 1 {
					err = store.ErrConflict
				}
			}
			if err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO segmatch_events (project, type, version, record) VALUES ($1, $2, $3, $4) RETURNING seq`,
				seg.IDProject, int(typ), int64(rec.Version), body).Scan(&seq); err != nil {
				return err
			}
			published = make(chan struct{})
			s.mu.Lock()
			s.waiting[seq] = published
			s.mu.Unlock()
			// The project rides along so that a listener that cannot read
			// the event back still knows whom to resync.
			if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel, strconv.FormatInt(seq, 10)+":"+seg.IDProject); err != nil {
				return err
			}
			if s.writes.Add(1)%256 == 0 {
				_, _ = tx.Exec(ctx, "DELETE FROM segmatch_events WHERE at < now() - interval '1 hour'")
			}
			return nil
		})
	})
	if err != nil && s.closed.Load() && ctx.Err() == nil && !isClean(err) {
		return store.ErrClosed
	}
	if err == nil && published != nil {
		// The write has committed: whatever ends the wait, it succeeded.
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-published:
		case <-s.listenDone:
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return err
}

// load reads one record, locking its row when lock is set.
func load(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, project, id string, lock bool) (*store.Record, error) {
	sql := "SELECT version, record FROM segmatch_segments WHERE project = $1 AND id = $2"
	if lock {
		sql += " FOR UPDATE"
	}
	var version int64
	var body string
	if err := q.QueryRow(ctx, sql, project, id).Scan(&version, &body); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	rec, err := decode(body, version)
	if err != nil {
		return nil, fmt.Errorf("segment %s/%s: %w", project, id, err)
	}
	return &rec, nil
}

// limitsLock is the first key of the per-project advisory locks.
const limitsLock = 7301983

// lockUsage takes the project's write lock for the rest of tx and
// returns what the project holds. Rows stored without a size (by an
// older version) are sized from their record, and the size is saved.
func lockUsage(ctx context.Context, tx pgx.Tx, project string) (store.Usage, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", limitsLock, project); err != nil {
		return store.Usage{}, err
	}
	var u store.Usage
	var unsized int
	if err := tx.QueryRow(ctx, usageSQL, project).Scan(&u.Segments, &u.Bytes, &unsized); err != nil {
		return store.Usage{}, err
	}
	if unsized == 0 {
		return u, nil
	}
	rows, err := tx.Query(ctx, "SELECT id, version, record FROM segmatch_segments WHERE project = $1 AND "+activeRows+" AND size IS NULL", project)
	if err != nil {
		return store.Usage{}, err
	}
	type sized struct {
		id      string
		version int64
		size    int64
	}
	var fill []sized
	for rows.Next() {
		var id, body string
		var version int64
		if err := rows.Scan(&id, &version, &body); err != nil {
			rows.Close()
			return store.Usage{}, err
		}
		rec, err := decode(body, version)
		if err != nil {
			rows.Close()
			return store.Usage{}, fmt.Errorf("segment %s/%s: %w", project, id, err)
		}
		fill = append(fill, sized{id, version, rec.CompiledSize()})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Usage{}, err
	}
	for _, f := range fill {
		u.Bytes += f.size
		if _, err := tx.Exec(ctx, "UPDATE segmatch_segments SET size = $4 WHERE project = $1 AND id = $2 AND version = $3 AND size IS NULL",
			project, f.id, f.version, f.size); err != nil {
			return store.Usage{}, err
		}
	}
	return u, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, project, createdBy string, seg filter.Segment) (filter.Segment, error) {
	if err := s.begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	now := s.cfg.now()
	rec, err := store.NewRecord(project, createdBy, s.ids.Next(now), seg, now)
	if err != nil {
		return filter.Segment{}, err
	}
	err = s.write(ctx, func(tx pgx.Tx) (*store.Record, uint64, store.EventType, error) {
		u, err := lockUsage(ctx, tx, project)
		if err != nil {
			return nil, 0, 0, err
		}
		if err := s.cfg.limits.Check(project, u, nil, rec); err != nil {
			return nil, 0, 0, err
		}
		return &rec, 0, store.EventCreated, nil
	})
	if err != nil {
		return filter.Segment{}, err
	}
	return store.CloneSegment(rec.Segment), nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, project, id string) (filter.Segment, error) {
	if err := s.begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	if !store.ValidID(id) {
		return filter.Segment{}, store.ErrNotFound
	}
	var rec *store.Record
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		var err error
		rec, err = load(ctx, c, project, id, false)
		return err
	})
	if err != nil {
		return filter.Segment{}, s.mapErr(ctx, err)
	}
	if rec == nil || !rec.Active() {
		return filter.Segment{}, store.ErrNotFound
	}
	return rec.Segment, nil
}

func (s *Store) mapErr(ctx context.Context, err error) error {
	if s.closed.Load() && ctx.Err() == nil {
		return store.ErrClosed
	}
	return err
}

// listSQL reads a project's active segments.
const listSQL = "SELECT version, record FROM segmatch_segments WHERE project = $1 AND " + activeRows

// List implements store.Store.
func (s *Store) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	if err := s.begin(ctx, project); err != nil {
		return nil, 0, err
	}
	opts, err := opts.Check()
	if err != nil {
		return nil, 0, err
	}
	var active []filter.Segment
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, listSQL, project)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var version int64
			var body string
			if err := rows.Scan(&version, &body); err != nil {
				return err
			}
			rec, err := decode(body, version)
			if err != nil {
				return err
			}
			active = append(active, rec.Segment)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, s.mapErr(ctx, err)
	}
	page, total := store.ListPage(active, opts)
	return page, total, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, project, id string, upd store.SegmentUpdate) (filter.Segment, error) {
	return s.modify(ctx, project, id, store.EventUpdated, func(r *store.Record) (store.Record, bool, error) {
		return r.Apply(upd, s.cfg.now())
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, project, id string) (filter.Segment, error) {
	return s.modify(ctx, project, id, store.EventDeleted, func(r *store.Record) (store.Record, bool, error) {
		next, changed := r.Delete(s.cfg.now())
		return next, changed, nil
	})
}

// modify changes one existing segment in one transaction, the row
// locked: change makes the next record from the stored one; when it
// changed something, it is written (conditional on the version read) and
// published as an event of kind.
func (s *Store) modify(ctx context.Context, project, id string, kind store.EventType,
	change func(*store.Record) (store.Record, bool, error)) (filter.Segment, error) {
	if err := s.begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	if !store.ValidID(id) {
		return filter.Segment{}, store.ErrNotFound
	}
	var out filter.Segment
	err := s.write(ctx, func(tx pgx.Tx) (*store.Record, uint64, store.EventType, error) {
		// The project's lock first, then the row's: always in this order.
		u, err := lockUsage(ctx, tx, project)
		if err != nil {
			return nil, 0, 0, err
		}
		rec, err := load(ctx, tx, project, id, true)
		if err != nil {
			return nil, 0, 0, err
		}
		if rec == nil {
			return nil, 0, 0, store.ErrNotFound
		}
		next, changed, err := change(rec)
		if err != nil {
			return nil, 0, 0, err
		}
		out = next.Segment
		if !changed {
			return nil, 0, 0, nil
		}
		if err := s.cfg.limits.Check(project, u, rec, next); err != nil {
			return nil, 0, 0, err
		}
		return &next, rec.Version, kind, nil
	})
	if err != nil {
		return filter.Segment{}, err
	}
	return store.CloneSegment(out), nil
}

// Watch implements store.Store: it sends a marker notification, and the
// listener subscribes when it reaches the marker. The listener is the
// only publisher and hears writes in commit order, so exactly the writes
// committed after the marker (and so after Watch returns) are delivered.
func (s *Store) Watch(ctx context.Context, project string) (<-chan store.Event, error) {
	if err := s.begin(ctx, project); err != nil {
		return nil, err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	w := &watcher{ctx: ctx, project: project, reply: make(chan watchReply, 1)}
	s.mu.Lock()
	s.pending[token] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, token)
		s.mu.Unlock()
	}()
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel, "sync:"+token)
		return err
	})
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	timeout := time.NewTimer(s.cfg.watchTimeout)
	defer timeout.Stop()
	select {
	case r := <-w.reply:
		return r.ch, r.err
	case <-s.listenDone:
		return nil, store.ErrClosed
	case <-ctx.Done():
		// A subscription made meanwhile ends with ctx: nothing leaks.
		return nil, ctx.Err()
	case <-timeout.C:
	}
	s.mu.Lock()
	_, waiting := s.pending[token]
	delete(s.pending, token)
	s.mu.Unlock()
	if waiting {
		return nil, ErrWatchTimeout // the listener will never reply
	}
	// The listener reached the marker just now: its reply is on the way
	// (it never blocks), and it is a valid subscription, which must be
	// handed out rather than leaked.
	r := <-w.reply
	return r.ch, r.err
}

// ErrWatchTimeout is returned by Watch when the listener did not reach
// its marker notification in time (default 30s; a stalled listener
// connection, or a database too busy to deliver notifications).
var ErrWatchTimeout = errors.New("segment store: the change feed did not answer")

// Close implements store.Store: it stops listening, closes every Watch
// channel and the connections. Closing twice is harmless.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopListen()
	<-s.listenDone // the listener closes its connection
	s.feed.Close()
	for {
		select {
		case ic := <-s.pool:
			ic.c.Close(context.Background())
			<-s.slots
		default:
			return nil
		}
	}
}
