package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/storetest"
)

func open(t *testing.T, path string, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, append([]bolt.Option{bolt.WithWatchBuffer(32)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store {
			return open(t, filepath.Join(t.TempDir(), "segments.db"))
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			path := s.(*bolt.Store).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		},
		OpenLimited: func(t *testing.T, l store.Limits) store.Store {
			return open(t, filepath.Join(t.TempDir(), "segments.db"), bolt.WithLimits(l))
		},
		ReopenLimited: func(t *testing.T, s store.Store, l store.Limits) store.Store {
			path := s.(*bolt.Store).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path, bolt.WithLimits(l))
		},
		WatchBuffer: 32,
	})
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "segments.db")
	s := open(t, path)
	created, err := s.Create(ctx, "p1", "u1", filter.Segment{Name: "all", Filters: []filter.Filter{}})
	if err != nil {
		t.Fatal(err)
	}
	// A reader may open the file while no writer holds it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	ro, err := bolt.Open(path, bolt.WithReadOnly(), bolt.WithLockTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	segs, total, err := ro.List(ctx, "p1", store.ListOptions{})
	if err != nil || total != 1 || len(segs) != 1 || segs[0].ID != created.ID {
		t.Fatalf("List = %v, %d, %v; want the one segment", segs, total, err)
	}
	if _, err := ro.Create(ctx, "p1", "u1", filter.Segment{Name: "x", Filters: []filter.Filter{}}); !errors.Is(err, bbolterrors.ErrDatabaseReadOnly) {
		t.Errorf("Create on a read-only store: %v; want ErrDatabaseReadOnly", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a read-only open changed the file")
	}

	if _, err := bolt.Open(filepath.Join(t.TempDir(), "missing.db"), bolt.WithReadOnly()); err == nil {
		t.Error("read-only open of a missing file: no error")
	}
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := bbolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := bolt.Open(other, bolt.WithReadOnly()); err == nil || !strings.Contains(err.Error(), "not a segment store") {
		t.Errorf("read-only open of a foreign bbolt file: %v; want not a segment store", err)
	}
}
