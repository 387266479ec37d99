package bolt

import (
	"bytes"
	"container/list"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync"
	"unsafe"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// DefaultCacheBytes is the default budget of a Store's decoded-record
// cache (WithCacheBytes).
const DefaultCacheBytes = 64 << 20

// WithCacheBytes sets the most memory, in bytes, that the cache of
// decoded records may take (default DefaultCacheBytes; 0 takes the
// default, a negative value disables the cache). List and the first
// write of a project read every record of the project; the cache saves
// decoding again the active ones whose stored bytes have not changed.
// An entry is charged its stored bytes (kept, to tell that they have not
// changed), as much again for the decoded copy, plus a fixed overhead per
// entry and per filter; past the budget, the least recently used entries
// are dropped. A record larger than the whole budget is not cached.
func WithCacheBytes(n int64) Option { return func(c *config) { c.cacheBytes = n } }

// Per-entry overheads charged to the cache: the entry, its list element
// and map slot and key, and the record struct; and each decoded filter.
const (
	cacheEntryCost  = 256
	cacheFilterCost = int64(unsafe.Sizeof(filter.Filter{}))
)

// recordCache caches decoded records by project and id, bounded by
// bytes (LRU). An active record's entry serves only while the stored
// bytes are the same (it keeps a copy), so it can never be stale. A
// deleted record's entry keeps no segment, only its length and a 128-bit
// keyed hash of its bytes (two per-process random seeds), so that a List
// does not check it again while it is unchanged.
type recordCache struct {
	max          int64
	seed1, seed2 maphash.Seed

	mu    sync.Mutex
	used  int64
	lru   list.List // *cacheEntry, most recently used first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key  string
	cost int64
	// An active record: its stored bytes and the decoded record, shared
	// with callers, who do not change it.
	raw []byte
	rec *store.Record
	// A deleted record (rec nil): its fingerprint.
	n      int
	h1, h2 uint64
}

func newRecordCache(max int64) *recordCache {
	return &recordCache{max: max, seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), byKey: map[string]*list.Element{}}
}

// bytes reports what the cache is charged.
func (c *recordCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// get returns the entry of key when it is of the stored bytes v.
func (c *recordCache) get(key string, v []byte) *cacheEntry {
	if c.max < 0 {
		return nil
	}
	c.mu.Lock()
	el, ok := c.byKey[key]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry) // never changed once cached: compared unlocked
	if e.rec != nil && !bytes.Equal(e.raw, v) || e.rec == nil && !c.sameDeleted(e, v) {
		return nil
	}
	c.mu.Lock()
	c.lru.MoveToFront(el) // a no-op when el was dropped meanwhile
	c.mu.Unlock()
	return e
}

func (c *recordCache) sameDeleted(e *cacheEntry, v []byte) bool {
	return e.n == len(v) && e.h1 == maphash.Bytes(c.seed1, v) && e.h2 == maphash.Bytes(c.seed2, v)
}

// put caches e under key, dropping the least recently used entries
// beyond the budget.
func (c *recordCache) put(key string, e *cacheEntry) {
	if c.max < 0 || e.cost > c.max {
		return
	}
	e.key = key
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byKey[key]; ok {
		c.drop(old)
	}
	c.byKey[key] = c.lru.PushFront(e)
	c.used += e.cost
	for c.used > c.max {
		c.drop(c.lru.Back())
	}
}

func (c *recordCache) drop(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.byKey, e.key)
	c.used -= e.cost
}

// deletedProbe is what a deleted record is checked for: well-formed
// JSON, of its segment and project, status deleted. Its filters are
// neither decoded nor kept: nothing reads a deleted segment's.
type deletedProbe struct {
	Segment struct {
		ID        string `json:"_id"`
		IDProject string `json:"id_project"`
		Status    *int   `json:"status"`
	} `json:"segment"`
}

var deletedTail = []byte(`"status":0}`)

// scanRecord returns the active record stored as v under key k of
// project, from the cache when v is unchanged, or nil when the record
// is deleted (then it is only checked, see deletedProbe). The record is
// shared with the cache: callers copy what they change or hand out. A
// record that does not decode, or is of another segment, is an
// errBadRecord.
func (s *Store) scanRecord(project string, k, v []byte) (*store.Record, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: project %s: a nested bucket %q among the segments", errBadRecord, project, k)
	}
	key := project + "\x00" + string(k)
	if e := s.cache.get(key, v); e != nil {
		return e.rec, nil
	}
	deleted := func() (*store.Record, error) {
		s.cache.put(key, &cacheEntry{cost: cacheEntryCost, n: len(v),
			h1: maphash.Bytes(s.cache.seed1, v), h2: maphash.Bytes(s.cache.seed2, v)})
		return nil, nil
	}
	// EncodeRecord writes the status last but for the size: a record
	// that ends so may be deleted, and is probed first. Any other goes to
	// the full decode, which has the last word either way.
	if bytes.Contains(v[max(0, len(v)-64):], deletedTail) {
		var p deletedProbe
		if json.Unmarshal(v, &p) == nil && p.Segment.Status != nil && *p.Segment.Status == filter.StatusDeleted {
			if p.Segment.ID != string(k) || p.Segment.IDProject != project {
				return nil, fmt.Errorf("%w: segment %s/%s: the record is of segment %s/%s", errBadRecord, project, k, p.Segment.IDProject, p.Segment.ID)
			}
			return deleted()
		}
	}
	r, err := store.DecodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("%w: segment %s/%s: %w", errBadRecord, project, k, err)
	}
	if r.Segment.ID != string(k) || r.Segment.IDProject != project {
		return nil, fmt.Errorf("%w: segment %s/%s: the record is of segment %s/%s", errBadRecord, project, k, r.Segment.IDProject, r.Segment.ID)
	}
	if !r.Active() { // deleted, though not as EncodeRecord writes it
		return deleted()
	}
	cost := cacheEntryCost + 2*int64(len(v)) + cacheFilterCost*countFilters(r.Segment.Filters)
	s.cache.put(key, &cacheEntry{cost: cost, raw: bytes.Clone(v), rec: &r})
	return &r, nil
}

func countFilters(fs []filter.Filter) int64 {
	n := int64(len(fs))
	for i := range fs {
		n += countFilters(fs[i].Filters)
	}
	return n
}
