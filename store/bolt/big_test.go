package bolt_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/storetest"
)

// bigEnv, when set to 1, makes TestBigOpen build a store of bigSegments
// segments and time what Open checks.
const bigEnv = "SEGMATCH_BIG"

const (
	bigSegments = 100_000
	bigProjects = 10 // 10,000 each: the default limit
)

// buildBig writes a store file of n segments in the store's layout
// (the store's record codec, in a few large transactions: through
// Create, each one fsync'd, it would take minutes).
func buildBig(t *testing.T, path string, n, projects int) (last map[string]string) {
	t.Helper()
	last = map[string]string{}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{FreelistType: bbolt.FreelistArrayType, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids store.IDGen
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const batch = 10_000
	var id string
	for done := 0; done < n; {
		err := db.Update(func(tx *bbolt.Tx) error {
			segs, err := tx.CreateBucketIfNotExists([]byte("segments"))
			if err != nil {
				return err
			}
			for i := 0; i < batch && done < n; i, done = i+1, done+1 {
				project := fmt.Sprintf("%024x", done%projects)
				b, err := segs.CreateBucketIfNotExists([]byte(project))
				if err != nil {
					return err
				}
				def := storetest.Seg(fmt.Sprint("segment ", done), filter.All,
					filter.Cond("attributes.country", "in", []any{"IT", "FR", fmt.Sprint("C", done%97)}),
					filter.Cond("tags", "contains", fmt.Sprint("tag", done%13)),
					filter.Group(filter.Any, filter.Cond("attributes.orders", ">=", done%7), filter.Cond("email", "ends with", "@bigco.com")),
				)
				id = ids.Next(at.Add(time.Duration(done) * time.Millisecond))
				last[project] = id
				rec, err := store.NewRecord(project, storetest.UserA, id, def, at)
				if err != nil {
					return err
				}
				v, err := store.EncodeRecord(rec)
				if err != nil {
					return err
				}
				if err := b.Put([]byte(id), v); err != nil {
					return err
				}
			}
			meta, err := tx.CreateBucketIfNotExists([]byte("meta"))
			if err != nil {
				return err
			}
			if err := meta.Put([]byte("format"), []byte("1")); err != nil {
				return err
			}
			return meta.Put([]byte("lastID"), []byte(id))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return last
}

// TestBigOpen times the checks of Open on a store of 100,000 segments:
//
//	SEGMATCH_BIG=1 go test -run BigOpen -v ./store/bolt
func TestBigOpen(t *testing.T) {
	if os.Getenv(bigEnv) != "1" {
		t.Skip("set " + bigEnv + "=1 to time Open on a store of 100,000 segments")
	}
	path := filepath.Join(t.TempDir(), "big.db")
	start := time.Now()
	last := buildBig(t, path, bigSegments, bigProjects)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d segments in %d projects: %.1f MiB in %v", bigSegments, bigProjects, float64(fi.Size())/(1<<20), time.Since(start).Round(time.Millisecond))

	// Each part alone, on a warm page cache (the file was just written),
	// then Open as a whole, three times.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	var problems int
	err = db.View(func(tx *bbolt.Tx) error {
		for range tx.Check() {
			problems++
		}
		return nil
	})
	if err != nil || problems > 0 {
		t.Fatalf("Tx.Check: %v, %d problems", err, problems)
	}
	t.Logf("bbolt Tx.Check alone: %v (%d pages of %d bytes)", time.Since(start).Round(time.Millisecond), fi.Size()/int64(db.Info().PageSize), db.Info().PageSize)
	db.Close()

	start = time.Now()
	if err := bolt.CheckFile(path); err != nil {
		t.Fatal(err)
	}
	t.Logf("page walk before mapping (checkFile) alone: %v", time.Since(start).Round(time.Millisecond))

	for i := 0; i < 3; i++ {
		start = time.Now()
		s, err := bolt.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		opened := time.Since(start)
		start = time.Now()
		project := fmt.Sprintf("%024x", i)
		_, err = s.Create(t.Context(), project, storetest.UserA, storetest.Seg("one more", filter.All))
		var le *store.LimitError
		if !errors.As(err, &le) || le.Used != bigSegments/bigProjects {
			t.Fatalf("create in a full project: %v", err)
		}
		firstWrite := time.Since(start)
		start = time.Now()
		if _, err := s.Delete(t.Context(), project, last[project]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(t.Context(), project, storetest.UserA, storetest.Seg("one more", filter.All)); err != nil {
			t.Fatal(err)
		}
		next := time.Since(start) / 2
		s.Close()
		t.Logf("Open (page walk + bbolt.Open + Tx.Check): %v; a project's first write (decodes its %d records): %v, the next ones: %v",
			opened.Round(time.Millisecond), le.Used, firstWrite.Round(time.Millisecond), next.Round(time.Microsecond))
	}
}
