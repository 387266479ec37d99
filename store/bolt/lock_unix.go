//go:build unix

package bolt

import (
	"errors"
	"os"
	"syscall"
	"time"

	bbolterrors "go.etcd.io/bbolt/errors"
)

// lockShared takes a shared lock on f, as bbolt does (flock), waiting up
// to timeout (0: for ever) for a writer to let go: the file is then
// checked in a state no other process is writing. The lock goes with f.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if timeout > 0 && time.Now().After(deadline) {
			return bbolterrors.ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}
