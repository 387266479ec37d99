//go:build unix

package httpapi_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used (user and system, the
// load tests' clients included): unlike latency, it hardly depends on
// what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
