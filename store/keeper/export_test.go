package keeper

import "time"

// WithRetry sets the pauses between a failed build and its retry (tests
// shorten them).
func WithRetry(first, last time.Duration) Option {
	return func(k *Keeper) { k.retryMin, k.retryMax = first, last }
}
