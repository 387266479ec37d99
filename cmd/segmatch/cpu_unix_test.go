//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process has used: unlike
// wall time, it does not grow when other processes take the cores (as
// benchmarks/cpu_unix.go).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
