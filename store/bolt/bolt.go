// Package bolt is the embedded default store.Store: every segment of every
// project in one file, written with go.etcd.io/bbolt. Each write is one
// bbolt transaction, fsync'd before it is acknowledged, so an acknowledged
// write survives a crash or power loss, and a crash mid-write leaves the
// previous state (bbolt's copy-on-write pages and double meta page).
//
// Layout: bucket "segments" holds one bucket per project, keyed by project
// id; each maps a segment id (24 hex, so keys sort by creation) to a JSON
// record {"version": N, "segment": {...wire format...}}. Deleted segments
// stay, with status 0. Bucket "meta" keeps the greatest id ever issued, so
// ids keep increasing across restarts.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

var (
	bucketSegments = []byte("segments")
	bucketMeta     = []byte("meta")
	keyLastID      = []byte("lastID")
	keyFormat      = []byte("format")
)

// formatVersion is the layout version written to meta; Open refuses files
// written by a newer layout.
const formatVersion = "1"

// Store is a store.Store on one bbolt file. Writes are serialised by a
// lock held across the transaction and the publishing of its event, so
// each project's events come in commit order; reads run concurrently in
// read-only transactions.
type Store struct {
	db     *bbolt.DB
	path   string
	wmu    sync.Mutex // orders writes and their events
	closed atomic.Bool

	ids  store.IDGen
	feed *store.Feed
	now  func() time.Time

	// decoded caches records decoded from the file, by project and id;
	// an entry serves only while the stored bytes are the same, so it
	// can never be stale. List would otherwise decode every record of
	// the project on every call.
	decoded sync.Map // string -> *cachedRecord
}

type cachedRecord struct {
	raw []byte
	rec store.Record
}

// decodeCached decodes a stored record, or takes it from the cache when
// its bytes are unchanged. The record shares its filters with the cache:
// callers clone what they hand out.
func (s *Store) decodeCached(project string, k, v []byte) (store.Record, error) {
	key := project + "\x00" + string(k)
	if c, ok := s.decoded.Load(key); ok && bytes.Equal(c.(*cachedRecord).raw, v) {
		return c.(*cachedRecord).rec, nil
	}
	r, err := store.DecodeRecord(v)
	if err != nil {
		return r, err
	}
	s.decoded.Store(key, &cachedRecord{raw: bytes.Clone(v), rec: r})
	return r, nil
}

var _ store.Store = (*Store)(nil)

// Option configures Open.
type Option func(*config)

type config struct {
	now         func() time.Time
	watchBuffer int
	timeout     time.Duration
	readOnly    bool
}

// WithClock sets the clock for ids and timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithWatchBuffer sets how many events a Watch subscription buffers
// (default store.DefaultWatchBuffer).
func WithWatchBuffer(n int) Option { return func(c *config) { c.watchBuffer = n } }

// WithLockTimeout sets how long Open waits for another process to release
// the file (default 5s; bbolt locks the file while it is open).
func WithLockTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithReadOnly opens an existing store for reading only (a command that
// classifies with a server's segments, a backup): the file is neither
// created nor changed, it is shared with other readers (a writer holding
// it still makes Open wait, up to the lock timeout), and every write
// fails with bbolt's errors.ErrDatabaseReadOnly. A file that is not a
// segment store is an error.
func WithReadOnly() Option { return func(c *config) { c.readOnly = true } }

// Open opens (creating it if needed) the store file at path.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, timeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      cfg.timeout,
		FreelistType: bbolt.FreelistArrayType,
		ReadOnly:     cfg.readOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("open segment store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, feed: store.NewFeed(cfg.watchBuffer), now: cfg.now}
	if cfg.readOnly {
		err = db.View(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil || tx.Bucket(bucketSegments) == nil {
				return errors.New("not a segment store (no segments and meta buckets)")
			}
			if v := meta.Get(keyFormat); string(v) != formatVersion {
				return fmt.Errorf("unsupported store format %q (want %q)", v, formatVersion)
			}
			s.ids.Observe(string(meta.Get(keyLastID)))
			return nil
		})
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open segment store %s: %w", path, err)
		}
		return s, nil
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketSegments); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(keyFormat); {
		case v == nil:
			if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
				return err
			}
		case string(v) != formatVersion:
			return fmt.Errorf("unsupported store format %q (want %q)", v, formatVersion)
		}
		s.ids.Observe(string(meta.Get(keyLastID)))
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open segment store %s: %w", path, err)
	}
	return s, nil
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// DB returns the underlying bbolt database (for backups with Tx.WriteTo
// and consistency checks with Tx.Check). Do not write to it.
func (s *Store) DB() *bbolt.DB { return s.db }

// begin checks what every call checks first.
func (s *Store) begin(ctx context.Context, project string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	return store.CheckProject(project)
}

// mapErr turns bbolt's "closed" into store.ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, bbolterrors.ErrDatabaseNotOpen) || errors.Is(err, bbolterrors.ErrTxClosed) {
		return store.ErrClosed
	}
	return err
}

// load reads one record of a project; nil when absent.
func load(tx *bbolt.Tx, project, id string) (*store.Record, error) {
	b := tx.Bucket(bucketSegments).Bucket([]byte(project))
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	r, err := store.DecodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("segment %s/%s: %w", project, id, err)
	}
	return &r, nil
}

func save(tx *bbolt.Tx, r store.Record) error {
	b, err := tx.Bucket(bucketSegments).CreateBucketIfNotExists([]byte(r.Segment.IDProject))
	if err != nil {
		return err
	}
	v, err := store.EncodeRecord(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(r.Segment.ID), v)
}

// write runs fn in a write transaction under the write lock and, once it
// has committed (and been fsync'd), publishes the event fn returns, if any.
func (s *Store) write(ctx context.Context, fn func(tx *bbolt.Tx) (*store.Event, error)) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	var ev *store.Event
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		ev, err = fn(tx)
		return err
	})
	if err != nil {
		return mapErr(err)
	}
	if ev != nil {
		s.feed.Publish(*ev)
	}
	return nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, project, createdBy string, seg filter.Segment) (filter.Segment, error) {
	if err := s.begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	var rec store.Record
	err := s.write(ctx, func(tx *bbolt.Tx) (*store.Event, error) {
		now := s.now()
		id := s.ids.Next(now)
		var err error
		if rec, err = store.NewRecord(project, createdBy, id, seg, now); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketMeta).Put(keyLastID, []byte(id)); err != nil {
			return nil, err
		}
		if err := save(tx, rec); err != nil {
			return nil, err
		}
		ev := rec.Event(store.EventCreated)
		return &ev, nil
	})
	if err != nil {
		return filter.Segment{}, err
	}
	return rec.Segment, nil
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
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		rec, err = load(tx, project, id)
		return err
	})
	if err != nil {
		return filter.Segment{}, mapErr(err)
	}
	if rec == nil || !rec.Active() {
		return filter.Segment{}, store.ErrNotFound
	}
	return rec.Segment, nil
}

// List implements store.Store. It reads the project's records in one
// read transaction (segments per project number in the hundreds, so a
// scan beats maintaining sort indexes).
func (s *Store) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	if err := s.begin(ctx, project); err != nil {
		return nil, 0, err
	}
	opts, err := opts.Check()
	if err != nil {
		return nil, 0, err
	}
	var active []filter.Segment
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSegments).Bucket([]byte(project))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r, err := s.decodeCached(project, k, v)
			if err != nil {
				return fmt.Errorf("segment %s/%s: %w", project, k, err)
			}
			if r.Active() {
				active = append(active, r.Segment)
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, mapErr(err)
	}
	page, total := store.ListPage(active, opts)
	for i := range page {
		page[i] = store.CloneSegment(page[i]) // the cache keeps the originals
	}
	return page, total, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, project, id string, upd store.SegmentUpdate) (filter.Segment, error) {
	return s.modify(ctx, project, id, store.EventUpdated, func(r *store.Record) (store.Record, bool, error) {
		return r.Apply(upd, s.now())
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, project, id string) (filter.Segment, error) {
	return s.modify(ctx, project, id, store.EventDeleted, func(r *store.Record) (store.Record, bool, error) {
		next, changed := r.Delete(s.now())
		return next, changed, nil
	})
}

// modify changes one existing segment in one transaction: change makes
// the next record from the stored one; when it changed something, it is
// saved and published as an event of kind.
func (s *Store) modify(ctx context.Context, project, id string, kind store.EventType,
	change func(*store.Record) (store.Record, bool, error)) (filter.Segment, error) {
	if err := s.begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	if !store.ValidID(id) {
		return filter.Segment{}, store.ErrNotFound
	}
	var out filter.Segment
	err := s.write(ctx, func(tx *bbolt.Tx) (*store.Event, error) {
		rec, err := load(tx, project, id)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, store.ErrNotFound
		}
		next, changed, err := change(rec)
		if err != nil {
			return nil, err
		}
		out = next.Segment
		if !changed {
			return nil, nil
		}
		if err := save(tx, next); err != nil {
			return nil, err
		}
		ev := next.Event(kind)
		return &ev, nil
	})
	if err != nil {
		return filter.Segment{}, err
	}
	return out, nil
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, project string) (<-chan store.Event, error) {
	if err := s.begin(ctx, project); err != nil {
		return nil, err
	}
	// Subscribing under the write lock orders it against writes: every
	// write that commits after Watch returns is delivered.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	return s.feed.Subscribe(ctx, project)
}

// Close implements store.Store: it waits for the write in progress,
// closes every Watch channel and closes the file.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	s.feed.Close()
	return s.db.Close()
}
