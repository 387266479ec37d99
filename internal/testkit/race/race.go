//go:build race

// Package race tells tests whether the race detector is on: it makes
// sync.Pool drop items on purpose, so allocation counts are only
// meaningful without it.
package race

// Enabled is true in a -race build.
const Enabled = true
