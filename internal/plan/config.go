package plan

import "time"

// Config is what the front doors' options set (segmatch.Option).
type Config struct {
	// Now is the clock relative-date operators read: once per evaluation
	// of a Program, once per batch of a Set.
	Now func() time.Time
	// Capture is the top-level members a Set keeps the raw JSON of, per
	// contact, from its one pass (the first of a repeated key).
	Capture []string
}

// Configure applies options, each a func(*Config), over the defaults.
func Configure[O ~func(*Config)](opts []O) Config {
	c := Config{Now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}
