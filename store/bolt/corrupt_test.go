package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/storetest"
)

// fixture is a sound store file and what its pages are.
type fixture struct {
	path     string
	data     []byte
	pageSize int
	hwm      int   // pages in use
	pages    []int // leaf and branch pages
	freelist int
	segments int
}

// newFixture writes segments (two projects, enough for branch pages)
// through the store, then compacts the file in one transaction, so that
// every data page of the result is live: damage anywhere in one is
// damage to the store.
func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	s := open(t, src)
	for i := 0; i < n; i++ {
		p := storetest.ProjectA
		if i%3 == 0 {
			p = storetest.ProjectB
		}
		if _, err := s.Create(t.Context(), p, storetest.UserA, storetest.Seg(fmt.Sprint("segment ", i), filter.Any,
			filter.Cond("attributes.country", "in", []any{"IT", "FR", fmt.Sprint(i)}), filter.Cond("tags", "contains", "vip"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f := &fixture{path: filepath.Join(dir, "fixture.db"), segments: n}
	sdb, err := bbolt.Open(src, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ddb, err := bbolt.Open(f.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bbolt.Compact(ddb, sdb, 0); err != nil {
		t.Fatal(err)
	}
	err = ddb.View(func(tx *bbolt.Tx) error {
		f.pageSize = tx.DB().Info().PageSize
		f.hwm = int(tx.Size()) / f.pageSize
		for id := 2; id < f.hwm; id++ {
			pi, err := tx.Page(id)
			if err != nil {
				return err
			}
			switch pi.Type {
			case "leaf", "branch":
				f.pages = append(f.pages, id)
			case "freelist":
				f.freelist = id
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	ddb.Close()
	if f.data, err = os.ReadFile(f.path); err != nil {
		t.Fatal(err)
	}
	if len(f.pages) < 10 || f.freelist == 0 {
		t.Fatalf("fixture: %d data pages, freelist %d", len(f.pages), f.freelist)
	}
	return f
}

// variant writes a damaged copy of the fixture.
func (f *fixture) variant(t *testing.T, damage func(b []byte) []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "damaged.db")
	if err := os.WriteFile(path, damage(bytes.Clone(f.data)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantCorrupt opens path read-write and read-only: both must fail with
// a *bolt.CorruptError naming the file, and leave it unchanged.
func wantCorrupt(t *testing.T, path string, msg string) {
	t.Helper()
	before, _ := os.ReadFile(path)
	for _, ro := range []bool{false, true} {
		opts := []bolt.Option{bolt.WithLockTimeout(time.Second)}
		if ro {
			opts = append(opts, bolt.WithReadOnly())
		}
		s, err := bolt.Open(path, opts...)
		if err == nil {
			s.Close()
			t.Fatalf("read-only %v: a damaged file opened (%s)", ro, msg)
		}
		var ce *bolt.CorruptError
		if !errors.Is(err, bolt.ErrCorrupt) || !errors.As(err, &ce) {
			t.Fatalf("read-only %v: err = %v, want a *bolt.CorruptError (%s)", ro, err, msg)
		}
		if !strings.Contains(err.Error(), path) || ce.Path != path {
			t.Fatalf("read-only %v: %v: the path is missing", ro, err)
		}
		if msg != "" && !strings.Contains(err.Error(), msg) {
			t.Fatalf("read-only %v: %v: want %q in the message", ro, err, msg)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("opening a damaged file changed it")
	}
}

// wantSound opens path and lists every segment of both projects.
func wantSound(t *testing.T, path string, segments int) {
	t.Helper()
	if n := countSegments(t, path); n != segments {
		t.Fatalf("%d segments, want %d", n, segments)
	}
}

// countSegments opens path, counts the segments of both projects and
// checks that the store takes a write.
func countSegments(t *testing.T, path string) int {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("a sound file did not open: %v", err)
	}
	defer s.Close()
	n := 0
	for _, p := range []string{storetest.ProjectA, storetest.ProjectB} {
		_, c, err := s.List(t.Context(), p, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n += c
	}
	if _, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("after", filter.All)); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenTruncated(t *testing.T) {
	f := newFixture(t, 400)
	ps, hwm := f.pageSize, f.hwm*f.pageSize
	sizes := []int{16, 100, ps - 1, ps, ps + 100, 2 * ps, 8192, 2*ps + 1, 3 * ps, 3*ps + ps/2, hwm / 2, hwm / 2 * ps / ps, hwm - ps, hwm - ps/2, hwm - 1}
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			if size >= hwm {
				t.Skip("not truncated")
			}
			path := f.variant(t, func(b []byte) []byte { return b[:size] })
			msg := ""
			if size >= 2*ps {
				msg = "truncated"
			}
			wantCorrupt(t, path, msg)
		})
	}
	// Cut just after the last page in use: nothing is missing.
	t.Run("at the high-water mark", func(t *testing.T) {
		wantSound(t, f.variant(t, func(b []byte) []byte { return b[:hwm] }), f.segments)
	})
}

func TestOpenDamagedDataPages(t *testing.T) {
	f := newFixture(t, 400)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, id := range append(f.pages, f.freelist) {
		t.Run(fmt.Sprint("page ", id), func(t *testing.T) {
			path := f.variant(t, func(b []byte) []byte {
				for i := id * f.pageSize; i < (id+1)*f.pageSize; i++ {
					b[i] = byte(rng.Uint32())
				}
				return b
			})
			wantCorrupt(t, path, "")
		})
	}
	// Damage inside one page, its header intact: an element table, a
	// key, a record's bytes. Open refuses what breaks the b+tree; a
	// value it does not read is found at the project's first write, which
	// fails, as every write after it.
	for _, at := range []struct {
		name   string
		offset func(b []byte) int
	}{
		{"element table", func([]byte) int { return f.pages[len(f.pages)/2]*f.pageSize + 16 }},
		{"record", func(b []byte) int { return bytes.Index(b, []byte(`{"version":`)) }},
		{"last record", func(b []byte) int { return bytes.LastIndex(b, []byte(`"segment":{`)) }},
		{"key", func(b []byte) int { return bytes.LastIndex(b, []byte(storetest.ProjectB)) }},
	} {
		t.Run(at.name, func(t *testing.T) {
			path := f.variant(t, func(b []byte) []byte {
				off := at.offset(b)
				if off < 2*f.pageSize {
					t.Fatalf("offset %d", off)
				}
				for i := off; i < off+24; i++ {
					b[i] = byte(rng.Uint32())
				}
				return b
			})
			wantCorruptOnUse(t, path)
		})
	}
}

// wantCorruptOnUse: opening path fails with ErrCorrupt, or the first
// writes to its projects do and, from then on, every write.
func wantCorruptOnUse(t *testing.T, path string) {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		if !errors.Is(err, bolt.ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
		return
	}
	defer s.Close()
	refused := 0
	for _, p := range []string{storetest.ProjectA, storetest.ProjectB, storetest.ProjectA} {
		_, err := s.Create(t.Context(), p, storetest.UserA, storetest.Seg("x", filter.All))
		switch {
		case errors.Is(err, bolt.ErrCorrupt):
			refused++
		case err != nil:
			t.Fatalf("create in %s: %v, want ErrCorrupt or success", p, err)
		case refused > 0:
			t.Fatalf("create in %s acknowledged after damage was found", p)
		}
	}
	if refused == 0 {
		t.Fatal("the damage went unnoticed")
	}
}

func TestOpenDamagedMeta(t *testing.T) {
	f := newFixture(t, 50)
	// One more write after the compaction: the meta pages hold the last
	// two transactions (txid 2: every segment but the last; txid 3: all).
	base := f.variant(t, func(b []byte) []byte { return b })
	s := open(t, base)
	if _, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("last", filter.All)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	// from is 16 to spare the page header, 0 to damage it too.
	smash := func(b []byte, page, from int) {
		for i := page*f.pageSize + from; i < page*f.pageSize+128; i++ {
			b[i] = byte(rng.Uint32())
		}
	}
	variantFrom := func(from int, pages ...int) string {
		path := filepath.Join(t.TempDir(), "meta.db")
		b := bytes.Clone(data)
		for _, p := range pages {
			smash(b, p, from)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	variant := func(pages ...int) string { return variantFrom(16, pages...) }
	// One meta damaged, as a crash while writing it leaves it: bbolt goes
	// on from the other meta page, the state of the transaction before
	// (the damaged page was the newer) or the newer one.
	n0, n1 := countSegments(t, variant(0)), countSegments(t, variant(1))
	if min(n0, n1) != f.segments || max(n0, n1) != f.segments+1 {
		t.Fatalf("meta 0 damaged: %d segments, meta 1 damaged: %d; want %d and %d", n0, n1, f.segments, f.segments+1)
	}
	t.Run("both", func(t *testing.T) { wantCorrupt(t, variant(0, 1), "meta page") })
	// A meta page whose page header is damaged too: not a crash; bbolt's
	// check refuses it, and so does Open.
	t.Run("meta 0 with its header", func(t *testing.T) { wantCorrupt(t, variantFrom(0, 0), "") })
	t.Run("meta 1 with its header", func(t *testing.T) { wantCorrupt(t, variantFrom(0, 1), "header of meta page 1") })
	t.Run("both with their headers", func(t *testing.T) { wantCorrupt(t, variantFrom(0, 0, 1), "") })
	// A meta page that checks out but counts pages the file lacks.
	t.Run("zeroed tail", func(t *testing.T) {
		path := f.variant(t, func(b []byte) []byte { return b[:3*f.pageSize] })
		wantCorrupt(t, path, "truncated")
	})
}

func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCorrupt(t, path, "empty")
}

func TestOpenNotBolt(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for name, content := range map[string][]byte{
		"json":   []byte(`[{"name":"a segment","filters":[]}]`),
		"text":   []byte(strings.Repeat("not a database\n", 1000)),
		"random": random,
		"zeros":  make([]byte, 32<<10),
		"byte":   {0xED},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			wantCorrupt(t, path, "no valid meta page")
		})
	}
}

// TestDamagedWhileOpen truncates the file under an open store: reads
// then fault in bbolt's map; the fault is a *CorruptError, not a crash,
// and from then on no write is acknowledged.
func TestDamagedWhileOpen(t *testing.T) {
	f := newFixture(t, 400)
	path := f.variant(t, func(b []byte) []byte { return b })
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, _, err := s.List(ctx, storetest.ProjectA, store.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(2*f.pageSize)); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.List(ctx, storetest.ProjectB, store.ListOptions{Limit: store.MaxLimit})
	t.Log(err)
	if !strings.Contains(err.Error(), "faulted") {
		t.Errorf("List of a truncated file: %v, want a fault reported", err)
	}
	if !errors.Is(err, bolt.ErrCorrupt) {
		t.Fatalf("List of a truncated file: %v, want ErrCorrupt", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Create(ctx, storetest.ProjectA, storetest.UserA, storetest.Seg("x", filter.All)); !errors.Is(err, bolt.ErrCorrupt) {
			t.Fatalf("Create into a damaged file: %v, want ErrCorrupt", err)
		}
	}
}

// TestBadRecordWhileOpen: a record found not to decode marks the store
// damaged: the read fails with ErrCorrupt, and so does every write after.
func TestBadRecordWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	var segs []filter.Segment
	for _, name := range []string{"a", "b", "c"} {
		seg, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg(name, filter.All))
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, seg)
	}
	// What a damaged value would read as (DB is documented read-only
	// for callers; this test plays the damage).
	damage := func(seg filter.Segment) {
		t.Helper()
		err := s.DB().Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("segments")).Bucket([]byte(storetest.ProjectA)).Put([]byte(seg.ID), []byte(`{"version":1,"seg`))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	damage(segs[1])
	if _, err := s.Get(t.Context(), storetest.ProjectA, segs[1].ID); !errors.Is(err, bolt.ErrCorrupt) {
		t.Fatalf("Get of a bad record: %v, want ErrCorrupt", err)
	}
	if _, err := s.Create(t.Context(), storetest.ProjectB, storetest.UserA, storetest.Seg("b", filter.All)); !errors.Is(err, bolt.ErrCorrupt) {
		t.Fatalf("Create after damage was found: %v, want ErrCorrupt", err)
	}
	s.Close()
	// Reopened (the file's pages are sound, and so are the project's
	// first and last records), the project's first write reads all its
	// records: refused, and every write after it.
	s = open(t, path)
	for _, p := range []string{storetest.ProjectA, storetest.ProjectB} {
		if _, err := s.Create(t.Context(), p, storetest.UserA, storetest.Seg("c", filter.All)); !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), "does not decode") {
			t.Fatalf("Create in %s after reopen: %v, want ErrCorrupt", p, err)
		}
	}
	if _, _, err := s.List(t.Context(), storetest.ProjectA, store.ListOptions{}); !errors.Is(err, bolt.ErrCorrupt) {
		t.Fatalf("List: %v, want ErrCorrupt", err)
	}
	s.Close()
	// A bad first record: Open finds it.
	s = open(t, path)
	damage(segs[0])
	s.Close()
	wantCorrupt(t, path, "does not decode")
}

// TestOpenRandomDamage overwrites a few random bytes anywhere in a sound
// file, many times: Open either refuses the file with ErrCorrupt or
// opens it, and then reads and writes either work or fail with
// ErrCorrupt. Nothing panics or faults.
func TestOpenRandomDamage(t *testing.T) {
	f := newFixture(t, 300)
	rng := rand.New(rand.NewPCG(9, 10))
	trials := 120 // 1,000 once: 137 refused, 630 noticed on use, 233 harmless
	if testing.Short() {
		trials = 30
	}
	var refused, noticed, unnoticed int
	for i := 0; i < trials; i++ {
		path := f.variant(t, func(b []byte) []byte {
			off, n := rng.IntN(f.hwm*f.pageSize), 1+rng.IntN(64)
			for j := off; j < min(off+n, len(b)); j++ {
				b[j] = byte(rng.Uint32())
			}
			return b
		})
		s, err := bolt.Open(path, bolt.WithLockTimeout(time.Second))
		if err != nil {
			if !errors.Is(err, bolt.ErrCorrupt) {
				t.Fatalf("trial %d: open: %v", i, err)
			}
			refused++
			continue
		}
		bad := false
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, bolt.ErrCorrupt) {
				t.Fatalf("trial %d: %s: %v", i, what, err)
			}
			bad = bad || err != nil
		}
		for _, p := range []string{storetest.ProjectA, storetest.ProjectB} {
			segs, _, err := s.List(t.Context(), p, store.ListOptions{Limit: 5})
			check("list", err)
			_, err = s.Create(t.Context(), p, storetest.UserA, storetest.Seg("x", filter.All))
			check("create", err)
			if len(segs) > 0 {
				_, err = s.Update(t.Context(), p, segs[0].ID, store.SegmentUpdate{Name: ptr("renamed")})
				if !errors.Is(err, store.ErrNotFound) { // a damaged id may no longer be found
					check("update", err)
				}
			}
		}
		s.Close()
		if bad {
			noticed++
		} else {
			unnoticed++ // free space, or bytes no read depends on
		}
	}
	t.Logf("%d trials: %d refused at Open, %d noticed on use, %d harmless or unnoticed", trials, refused, noticed, unnoticed)
}

func ptr[T any](v T) *T { return &v }
