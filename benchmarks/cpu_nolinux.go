//go:build !linux

package benchmarks

import "time"

func threadCPU() time.Duration { return 0 }
