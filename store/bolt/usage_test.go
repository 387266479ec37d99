package bolt_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/storetest"
)

// inSegment is a segment with one `in` condition over n strings of
// about 30 bytes: its record is about 36n bytes.
func inSegment(name string, n int) filter.Segment {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("%q", fmt.Sprintf("value-%024d", i))
	}
	return filter.Segment{Name: name, Match: filter.All, Filters: []filter.Filter{
		{Field: "x", Operator: "in", Value: json.RawMessage("[" + strings.Join(vals, ",") + "]")}}}
}

// stripSizes rewrites every record of project as a version that did not
// keep sizes wrote it (no "size").
func stripSizes(t *testing.T, path, project string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("segments")).Bucket([]byte(project))
		var keys, vals [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			delete(m, "size")
			nv, err := json.Marshal(m)
			keys, vals = append(keys, append([]byte(nil), k...)), append(vals, nv)
			return err
		})
		if err != nil {
			return err
		}
		for i := range keys {
			if err := b.Put(keys[i], vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusedWritesScanOnce(t *testing.T)        { refusedWritesScanOnce(t, false) }
func TestRefusedWritesScanOnceUnsized(t *testing.T) { refusedWritesScanOnce(t, true) }

// A project at its limit, after Open: its records are read (and, when
// stored without a size, compiled) once, at the first write, whether that
// write succeeds or is refused, not again at every refused write, which
// holds the store's one write lock (the review measured 18–20 ms a
// refused create on 2,000 segments after a reopen, 536 ms unsized).
func refusedWritesScanOnce(t *testing.T, unsized bool) {
	const n = 40
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path, bolt.WithLimits(store.Limits{MaxSegments: n, MaxBytes: -1}))
	var ids []string
	for i := 0; i < n; i++ {
		seg, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, inSegment(fmt.Sprint("s", i), 20))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, seg.ID)
	}
	total, err := func() (int64, error) { // the bytes the n segments take
		var sum int64
		err := s.DB().View(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("segments")).Bucket([]byte(storetest.ProjectA)).ForEach(func(_, v []byte) error {
				r, err := store.DecodeRecord(v)
				sum += r.Size
				return err
			})
		})
		return sum, err
	}()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if unsized {
		stripSizes(t, path, storetest.ProjectA)
	}

	s = open(t, path, bolt.WithLimits(store.Limits{MaxSegments: n, MaxBytes: total}))
	defer s.Close()
	wantCompiles := int64(0)
	if unsized {
		wantCompiles = n
	}
	for i := 0; i < 10; i++ {
		_, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("more", filter.All, filter.Cond("a", "=", 1)))
		wantLimitErr(t, err, "segments")
		if got := bolt.Scans(s); got != 1 {
			t.Fatalf("after %d refused creates: the project's records were read %d times, want once", i+1, got)
		}
		if got := bolt.Compiles(s); got != wantCompiles {
			t.Fatalf("after %d refused creates: %d records compiled for their size, want %d", i+1, got, wantCompiles)
		}
	}
	// Growing updates of a record (unsized: its size is known from the
	// scan) are refused by MaxBytes without compiling it again.
	grow := []filter.Filter{inSegment("", 40).Filters[0]}
	for i := 0; i < 5; i++ {
		_, err := s.Update(t.Context(), storetest.ProjectA, ids[0], store.SegmentUpdate{Filters: &grow})
		wantLimitErr(t, err, "bytes")
	}
	// A rename changes nothing of the size: it goes ahead.
	name := "renamed"
	if _, err := s.Update(t.Context(), storetest.ProjectA, ids[1], store.SegmentUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got, gotC := bolt.Scans(s), bolt.Compiles(s); got != 1 || gotC != wantCompiles {
		t.Fatalf("after the updates: %d scans, %d compiles; want 1 and %d", got, gotC, wantCompiles)
	}
}

func wantLimitErr(t *testing.T, err error, limit string) {
	t.Helper()
	le, ok := err.(*store.LimitError)
	if !ok || le.Limit != limit {
		t.Fatalf("write beyond the limit: %v, want a %q *store.LimitError", err, limit)
	}
}

func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Listing a project whose segments are all deleted keeps none of them
// in memory (the review's List of 30 deleted 700 KiB segments grew the
// heap by 67 MiB, every record kept twice, raw and decoded).
func TestListKeepsNoDeletedRecords(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	defer s.Close()
	def := inSegment("big", 20_000) // ~720 KiB a record
	for i := 0; i < 8; i++ {
		seg, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, def)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete(t.Context(), storetest.ProjectA, seg.ID); err != nil {
			t.Fatal(err)
		}
	}
	def = filter.Segment{}
	h0 := heapAlloc()
	for i := 0; i < 2; i++ {
		segs, total, err := s.List(t.Context(), storetest.ProjectA, store.ListOptions{})
		if err != nil || len(segs) != 0 || total != 0 {
			t.Fatalf("List: %d segments of %d, %v; want none", len(segs), total, err)
		}
	}
	grown := heapAlloc() - h0
	runtime.KeepAlive(s)
	if grown > 1<<20 {
		t.Fatalf("listing 8 deleted 720 KiB segments grew the heap by %d KiB; want under 1 MiB", grown>>10)
	}
	if c := bolt.CachedBytes(s); c > 64<<10 {
		t.Fatalf("the decoded cache holds %d bytes after listing deleted segments only", c)
	}
}

// The decoded cache never holds more than its budget (WithCacheBytes),
// however many records List reads, and List stays right when it evicts.
func TestDecodedCacheBounded(t *testing.T) {
	const budget = 1 << 20
	s := open(t, filepath.Join(t.TempDir(), "s.db"), bolt.WithCacheBytes(budget))
	defer s.Close()
	def := inSegment("mid", 2_000) // ~72 KiB a record, ~150 KiB cached
	const n = 24                   // ~3.6 MiB cached without a bound
	for i := 0; i < n; i++ {
		if _, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, def); err != nil {
			t.Fatal(err)
		}
	}
	h0 := heapAlloc()
	for i := 0; i < 3; i++ {
		segs, total, err := s.List(t.Context(), storetest.ProjectA, store.ListOptions{Limit: n})
		if err != nil || len(segs) != n || total != n {
			t.Fatalf("List: %d segments of %d, %v; want %d", len(segs), total, err, n)
		}
		for _, seg := range segs {
			if len(seg.Filters) != 1 || len(seg.Filters[0].Value) != len(def.Filters[0].Value) {
				t.Fatalf("segment %s listed with filters %d", seg.ID, len(seg.Filters))
			}
		}
		if c := bolt.CachedBytes(s); c > budget || c == 0 {
			t.Fatalf("the decoded cache holds %d bytes, its budget is %d", c, budget)
		}
	}
	if grown := heapAlloc() - h0; grown > 2*budget {
		t.Fatalf("listing grew the heap by %d KiB with a %d KiB cache", grown>>10, budget>>10)
	}
}
