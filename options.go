package segmatch

import "time"

// Option configures compilation.
type Option func(*config)

type config struct {
	now func() time.Time
}

// WithNow fixes the clock that relative-date operators (within_last,
// within_next, ...) read. It is called once per evaluation of a program
// that has such operators, and once per batch by the engine, so a batch
// sees one consistent "now". The default is time.Now.
func WithNow(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

func newConfig(opts []Option) config {
	c := config{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return c
}
