//go:build linux

package benchmarks

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPU is the CPU time the calling OS thread has used (the caller
// keeps its goroutine on the thread), or 0 where that is unknown. It is
// clock_gettime(CLOCK_THREAD_CPUTIME_ID), exact to the nanosecond;
// getrusage's figure for a thread moves only at scheduler ticks.
func threadCPU() time.Duration {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
