package bolt

import (
	"errors"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
)

// A panic raised in bbolt inside a transaction is damage (a
// *CorruptError, the store broken); a panic of ours is a bug, and goes on.
func TestGuard(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	func() {
		defer func() {
			if r := recover(); r != "a bug" {
				t.Fatalf("recovered %v, want the bug's panic", r)
			}
		}()
		_ = s.view(func(*bbolt.Tx) error { panic("a bug") })
	}()
	if s.broken.Load() != nil {
		t.Fatal("a bug marked the store broken")
	}
	err = s.view(func(tx *bbolt.Tx) error { return tx.Commit() /* panics in bbolt: managed tx */ })
	if !errors.Is(err, ErrCorrupt) || s.broken.Load() == nil {
		t.Fatalf("a panic in bbolt: %v, want ErrCorrupt and the store broken", err)
	}
}
