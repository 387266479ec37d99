package segmatch

import (
	"time"

	"github.com/segmatch/segmatch/internal/plan"
)

// Option configures compilation (Compile, and engine.New).
type Option func(*plan.Config)

// WithNow fixes the clock that relative-date operators (within_last,
// within_next, ...) read. It is called once per evaluation of a program
// that has such operators, and once per batch by the engine, so a batch
// sees one consistent "now". The default is time.Now.
func WithNow(now func() time.Time) Option {
	return func(c *plan.Config) {
		if now != nil {
			c.Now = now
		}
	}
}

// WithCapture makes an engine keep, for each raw JSON contact it
// classifies, the raw JSON of the named top-level members (the first of
// a repeated name), read in the same pass as the segments' fields:
// what a caller needs beside the verdicts, such as the contact's id,
// without scanning the contact again (engine.Result.Captured). Compile
// ignores it.
func WithCapture(keys ...string) Option {
	return func(c *plan.Config) { c.Capture = append(c.Capture, keys...) }
}
