package worker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
)

// TestPreviewStarvesLeadRoutes: previews share the serve pool (pgxpool
// defaults, as openRelay makes it) with every other lead route; a lead
// read while the pool's worth of previews run should not wait for them.
func TestPreviewStarvesLeadRoutes(t *testing.T) {
	ctx := context.Background()
	pool := previewContacts(t, "worker_starve", 200000)
	a := &Audience{pool: pool, previews: make(chan struct{}, DefaultMaxPreviews)}
	lead := func() time.Duration {
		start := time.Now()
		_, err := a.Lead(ctx, "p", "c000001")
		require.NoError(t, err)
		return time.Since(start)
	}
	idle := lead()
	seg := filter.Segment{Filters: []filter.Filter{filter.Cond("n", ">", 199990)}}
	start := time.Now()
	_, err := a.Preview(ctx, "p", seg, 2)
	require.NoError(t, err)
	one := time.Since(start)
	var wg sync.WaitGroup
	n := int(pool.Config().MaxConns)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = a.Preview(ctx, "p", seg, 2) }()
	}
	time.Sleep(100 * time.Millisecond)
	busy := lead()
	wg.Wait()
	t.Logf("pool MaxConns %d; one preview %v; a lead read idle %v, during %d previews %v", n, one, idle, n, busy)
	assert.Less(t, busy, one/4, "a lead read waited for the previews")
}
