package bolt_test

import (
	"errors"
	"path/filepath"
	"regexp"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/storetest"
)

// A record stored before sizes were kept (no "size" in its JSON) is
// sized by compiling it, and counts against MaxBytes like any other.
func TestLimitsUnsizedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	seg, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA,
		storetest.Seg("old", filter.Any, filter.Cond("a", "in", []any{"x1", "x2", "x3", "x4", "x5", "x6"})))
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	sizeRE := regexp.MustCompile(`,"size":([0-9]+)`)
	err = s.DB().Update(func(tx *bbolt.Tx) error { // as an older version wrote it
		b := tx.Bucket([]byte("segments")).Bucket([]byte(storetest.ProjectA))
		v := b.Get([]byte(seg.ID))
		m := sizeRE.FindSubmatch(v)
		if m == nil {
			t.Fatalf("no size in %s", v)
		}
		rec, err := store.DecodeRecord(v)
		if err != nil {
			return err
		}
		size = rec.Size
		return b.Put([]byte(seg.ID), sizeRE.ReplaceAll(v, nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path, bolt.WithLimits(store.Limits{MaxSegments: -1, MaxBytes: size + 1}))
	defer s.Close()
	_, err = s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("new", filter.All, filter.Cond("b", "=", 1)))
	var le *store.LimitError
	if !errors.As(err, &le) || le.Used != size {
		t.Fatalf("create next to an unsized record: %v (%+v), want a limit error with %d used", err, le, size)
	}
	if _, err := s.Delete(t.Context(), storetest.ProjectA, seg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(t.Context(), storetest.ProjectA, storetest.UserA, storetest.Seg("new", filter.All, filter.Cond("b", "=", 1))); err != nil {
		t.Fatalf("create after deleting the unsized record: %v", err)
	}
}
