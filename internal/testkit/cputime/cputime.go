//go:build unix

// Package cputime reads the CPU time a test process has used, for
// figures that must not grow when other processes take the cores (wall
// time does): the load and cost tests and the worker's figures (package
// benchmarks, not a test, keeps its own).
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user + system) the process has used so far (0
// when the system does not say).
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
