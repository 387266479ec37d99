//go:build !unix

package bolt

import (
	"os"
	"time"
)

// lockShared does nothing where flock is unavailable: bbolt's own lock,
// taken next, still keeps a second writer out.
func lockShared(*os.File, time.Duration) error { return nil }
