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
//
// Open checks the file before bbolt maps it (bbolt trusts the file: a
// truncated one faults the process): both meta pages, that the file holds
// every page they count, the freelist and every page reachable from the
// root, read with bounds checks. It then runs bbolt's consistency check
// (Tx.Check), before accepting any call: both take a fraction of a
// second on 100,000 segments (README), so Open makes them every time. A
// damaged file is a *CorruptError (ErrCorrupt). Damage found later is
// one too, and from then on every write fails with it, so nothing is
// acknowledged into a broken file: a record that does not decode (a
// project's records are all read at its first write since Open, to count
// them against the limits, and at every List; active ones are decoded,
// deleted ones only checked as JSON of their segment and project), or a
// fault reading the map (the file damaged while open).
//
// Memory: decoded active records are cached (for List and that first
// count) within WithCacheBytes (default 64 MiB, least recently used
// dropped first); deleted records are never kept, only a fingerprint of
// each. Per project the store keeps its usage (two numbers), and, for
// records stored without a size, the size compiled once for them.
package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
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
	broken atomic.Pointer[CorruptError] // damage found since Open: writes refused

	limits store.Limits
	usage  map[string]store.Usage // per project, as committed; under wmu

	ids  store.IDGen
	feed *store.Feed
	now  func() time.Time

	// sizes keeps the compiled sizes worked out for records stored
	// without one, by project and id, for the version sized: such a
	// record is compiled once per process, not at every write that
	// counts it. Under wmu.
	sizes map[string]knownSize

	// cache keeps decoded active records (see recordCache), bounded by
	// WithCacheBytes: List and projectUsage would otherwise decode every
	// record of the project on every call.
	cache *recordCache

	// Counters for tests: full scans of a project's records (projectUsage
	// computing a usage) and records compiled for their size.
	scans, compiles atomic.Int64
}

type knownSize struct {
	version uint64
	size    int64
}

// sizeOf returns r's compiled size, setting r.Size: the stored one, or,
// for a record stored without one, the one worked out for its version
// before, or compiled now and kept. Under wmu.
func (s *Store) sizeOf(project string, r *store.Record) int64 {
	if r.Size >= 0 {
		return r.Size
	}
	key := project + "\x00" + r.Segment.ID
	if k, ok := s.sizes[key]; ok && k.version == r.Version {
		r.Size = k.size
		return r.Size
	}
	s.compiles.Add(1)
	size := r.CompiledSize()
	s.sizes[key] = knownSize{version: r.Version, size: size}
	return size
}

var _ store.Store = (*Store)(nil)

// Option configures Open.
type Option func(*config)

type config struct {
	now         func() time.Time
	watchBuffer int
	timeout     time.Duration
	readOnly    bool
	limits      store.Limits
	cacheBytes  int64
}

// WithLimits sets the limits of each project (default store.DefaultLimits;
// zero fields take the defaults). They are checked inside each write's
// transaction.
func WithLimits(l store.Limits) Option { return func(c *config) { c.limits = l.Resolved() } }

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

// Open opens (creating it if needed) the store file at path, after
// checking it (see the package comment): a damaged file is a
// *CorruptError, a sound bbolt file that is not a segment store (read
// only) or of a newer layout is ErrNotStore.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, timeout: 5 * time.Second, limits: store.DefaultLimits}
	for _, o := range opts {
		o(&cfg)
	}
	if err := precheck(path, cfg.timeout); err != nil {
		return nil, openErr(path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      cfg.timeout,
		FreelistType: bbolt.FreelistArrayType,
		ReadOnly:     cfg.readOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("open segment store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, feed: store.NewFeed(cfg.watchBuffer), now: cfg.now,
		limits: cfg.limits, usage: map[string]store.Usage{}, sizes: map[string]knownSize{}}
	if cfg.cacheBytes == 0 {
		cfg.cacheBytes = DefaultCacheBytes
	}
	s.cache = newRecordCache(cfg.cacheBytes)
	if err := s.verify(); err != nil {
		_ = db.Close()
		return nil, openErr(path, err)
	}
	if cfg.readOnly {
		err = s.view(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil || tx.Bucket(bucketSegments) == nil {
				return fmt.Errorf("%w (no segments and meta buckets)", ErrNotStore)
			}
			if v := meta.Get(keyFormat); string(v) != formatVersion {
				return fmt.Errorf("%w: unsupported store format %q (want %q)", ErrNotStore, v, formatVersion)
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
	err = s.update(func(tx *bbolt.Tx) error {
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
			return fmt.Errorf("%w: unsupported store format %q (want %q)", ErrNotStore, v, formatVersion)
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

// openErr says which file Open failed on (a *CorruptError already does).
func openErr(path string, err error) error {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("open segment store %s: %w", path, err)
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
		return nil, fmt.Errorf("%w: segment %s/%s: %w", errBadRecord, project, id, err)
	}
	return &r, nil
}

// projectUsage returns what project holds, as committed: from the
// counts kept since Open, or, the first time, from its records, kept at
// once (under wmu, so it is what the file holds until the next commit),
// whether the write then succeeds or not: a write refused by the limits
// does not read the project again. Deleted records are only checked
// (scanRecord); records stored without a size are compiled once
// (sizeOf).
func (s *Store) projectUsage(tx *bbolt.Tx, project string) (store.Usage, error) {
	if u, ok := s.usage[project]; ok {
		return u, nil
	}
	var u store.Usage
	if b := tx.Bucket(bucketSegments).Bucket([]byte(project)); b != nil {
		s.scans.Add(1)
		err := b.ForEach(func(k, v []byte) error {
			r, err := s.scanRecord(project, k, v)
			if err != nil || r == nil {
				return err
			}
			rec := *r // the cache's is shared
			s.sizeOf(project, &rec)
			u = u.Plus(&rec)
			return nil
		})
		if err != nil {
			return u, err
		}
	}
	s.usage[project] = u
	return u, nil
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

// write runs fn in a write transaction of project under the write lock,
// giving it the project's usage; fn returns the event to publish (nil:
// nothing changed) and the usage after it. Once the transaction has
// committed (and been fsync'd), the usage is kept and the event
// published (the usage before the write is kept by projectUsage, so a
// refused write leaves it known too). A store found damaged refuses
// every write.
func (s *Store) write(ctx context.Context, project string, fn func(tx *bbolt.Tx, u store.Usage) (*store.Event, store.Usage, error)) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	if b := s.broken.Load(); b != nil {
		return b
	}
	var ev *store.Event
	var after store.Usage
	err := s.update(func(tx *bbolt.Tx) error {
		u, err := s.projectUsage(tx, project)
		if err != nil {
			return err
		}
		ev, after, err = fn(tx, u)
		return err
	})
	if err != nil {
		return mapErr(err)
	}
	if ev != nil {
		s.usage[project] = after
		s.feed.Publish(*ev)
	}
	return nil
}

// view and update run a bbolt transaction, turning a damaged file into
// a *CorruptError that marks the store broken: a record that does not
// decode, or a panic in bbolt, including a fault reading the map (bbolt
// trusts the file; the checks of Open make this a last resort for damage
// done while the store is open).
func (s *Store) view(fn func(*bbolt.Tx) error) error   { return s.guard(s.db.View, fn) }
func (s *Store) update(fn func(*bbolt.Tx) error) error { return s.guard(s.db.Update, fn) }

func (s *Store) guard(run func(func(*bbolt.Tx) error) error, fn func(*bbolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		// A fault is a read of the map beyond the file (by bbolt, or of
		// a value it handed out); a panic raised in bbolt is bbolt
		// meeting a page it cannot make sense of. Anything else is a bug
		// here, not damage: it goes on panicking.
		problem := fmt.Sprintf("bbolt failed on the file: %v", r)
		if f, fault := r.(interface{ Addr() uintptr }); fault {
			problem = fmt.Sprintf("reading the mapped file faulted at %#x: it was truncated or damaged while open", f.Addr())
		} else if !raisedIn(bboltPackage) {
			panic(r)
		}
		err = s.markBroken(&CorruptError{Path: s.path, Page: -1, Problem: problem})
	}()
	err = run(fn)
	var ce *CorruptError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		err = s.markBroken(ce)
	case errors.Is(err, errBadRecord):
		err = s.markBroken(&CorruptError{Path: s.path, Page: -1, Err: err})
	}
	return err
}

const bboltPackage = "go.etcd.io/bbolt"

// raisedIn reports whether the panic being recovered (called from the
// deferred function) was raised by code of package pkg (or below it):
// the first frame under the runtime's panic machinery.
func raisedIn(pkg string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return f.Function == pkg || strings.HasPrefix(f.Function, pkg+".") || strings.HasPrefix(f.Function, pkg+"/")
		}
		if !more {
			return false
		}
	}
}

// markBroken records the first damage found; writes fail with it.
func (s *Store) markBroken(e *CorruptError) error {
	s.broken.CompareAndSwap(nil, e)
	return e
}

// errBadRecord marks a stored record that does not decode.
var errBadRecord = errors.New("a stored record does not decode")

// verify runs bbolt's consistency check (Tx.Check) on the file: what
// Open does after checkFile. It reads pages, not values: records are
// decoded, and a damaged one found, when a project is first written
// (projectUsage reads all its records) or listed.
func (s *Store) verify() error {
	err := s.view(func(tx *bbolt.Tx) error {
		var found []error
		n := 0
		for err := range tx.Check() {
			if n++; len(found) < 5 {
				found = append(found, err)
			}
		}
		if n > len(found) {
			found = append(found, fmt.Errorf("and %d more problems", n-len(found)))
		}
		if n > 0 {
			return &CorruptError{Path: s.path, Page: -1, Problem: "bbolt's consistency check failed", Err: errors.Join(found...)}
		}
		root := tx.Bucket(bucketSegments)
		if root == nil {
			return nil // a new file, or not a store (Open says which)
		}
		// Each project bucket's name is the project of its records: a
		// damaged bucket name would hide the project. Its first and last
		// records say whose they are.
		return root.ForEachBucket(func(name []byte) error {
			c := root.Bucket(name).Cursor()
			for _, kv := range [][2][]byte{first(c.First()), first(c.Last())} {
				if kv[0] == nil {
					return nil // an empty project
				}
				if err := sameOwner(string(name), kv[0], kv[1]); err != nil {
					return &CorruptError{Path: s.path, Page: -1, Err: err}
				}
			}
			return nil
		})
	})
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce
	}
	return err
}

func first(k, v []byte) [2][]byte { return [2][]byte{k, v} }

// sameOwner checks, without decoding the whole segment, that the record
// under key k of project's bucket is that segment of that project.
func sameOwner(project string, k, v []byte) error {
	if v == nil {
		return fmt.Errorf("%w: project %s: a nested bucket %q among the segments", errBadRecord, project, k)
	}
	var d struct {
		Segment struct {
			ID        string `json:"_id"`
			IDProject string `json:"id_project"`
		} `json:"segment"`
	}
	if err := json.Unmarshal(v, &d); err != nil {
		return fmt.Errorf("%w: segment %q/%q: %w", errBadRecord, project, k, err)
	}
	if d.Segment.ID != string(k) || d.Segment.IDProject != project {
		return fmt.Errorf("%w: segment %q/%q: the record is of segment %s/%s", errBadRecord, project, k, d.Segment.IDProject, d.Segment.ID)
	}
	return nil
}

// precheck checks an existing file before bbolt opens it (checkFile),
// under a shared lock so that no other process writes it meanwhile. A
// missing file is left to bbolt (created, or an error when read only).
func precheck(path string, timeout time.Duration) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockShared(f, timeout); err != nil {
		return err
	}
	return checkFile(f, path)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, project, createdBy string, seg filter.Segment) (filter.Segment, error) {
	if err := s.begin(ctx, project); err != nil {
		return filter.Segment{}, err
	}
	var rec store.Record
	err := s.write(ctx, project, func(tx *bbolt.Tx, u store.Usage) (*store.Event, store.Usage, error) {
		now := s.now()
		id := s.ids.Next(now)
		var err error
		if rec, err = store.NewRecord(project, createdBy, id, seg, now); err != nil {
			return nil, u, err
		}
		if err := s.limits.Check(project, u, nil, rec); err != nil {
			return nil, u, err
		}
		if err := tx.Bucket(bucketMeta).Put(keyLastID, []byte(id)); err != nil {
			return nil, u, err
		}
		if err := save(tx, rec); err != nil {
			return nil, u, err
		}
		ev := rec.Event(store.EventCreated)
		return &ev, u.Plus(&rec), nil
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
	err := s.view(func(tx *bbolt.Tx) error {
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
	err = s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSegments).Bucket([]byte(project))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r, err := s.scanRecord(project, k, v)
			if r != nil {
				active = append(active, r.Segment)
			}
			return err
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
	err := s.write(ctx, project, func(tx *bbolt.Tx, u store.Usage) (*store.Event, store.Usage, error) {
		rec, err := load(tx, project, id)
		if err != nil {
			return nil, u, err
		}
		if rec == nil {
			return nil, u, store.ErrNotFound
		}
		if rec.Active() {
			s.sizeOf(project, rec) // once per process for a record stored without a size
		}
		next, changed, err := change(rec)
		if err != nil {
			return nil, u, err
		}
		out = next.Segment
		if !changed {
			return nil, u, nil
		}
		if err := s.limits.Check(project, u, rec, next); err != nil {
			return nil, u, err
		}
		if err := save(tx, next); err != nil {
			return nil, u, err
		}
		delete(s.sizes, project+"\x00"+id) // saved with its size
		ev := next.Event(kind)
		return &ev, u.Change(rec, next), nil
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
