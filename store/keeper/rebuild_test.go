package keeper_test

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/keeper"
	"github.com/segmatch/segmatch/store/memory"
)

// countingBuild wraps CompileEach: it counts builds, the most that ever
// ran at once, and runs before (if set) at the start of each build.
type countingBuild struct {
	builds, running, most atomic.Int64
	before                func(n int64) error
}

func (b *countingBuild) build(segs []filter.Segment) (keeper.Classifier, error) {
	n := b.builds.Add(1)
	r := b.running.Add(1)
	defer b.running.Add(-1)
	for {
		m := b.most.Load()
		if r <= m || b.most.CompareAndSwap(m, r) {
			break
		}
	}
	if b.before != nil {
		if err := b.before(n); err != nil {
			return nil, err
		}
	}
	return keeper.Compile(segs)
}

// settled waits until every change held is in a finished build.
func settled(t *testing.T, k *keeper.Keeper, project string) keeper.Stats {
	t.Helper()
	var s keeper.Stats
	require.Eventually(t, func() bool {
		var ok bool
		s, ok = k.Stats(project)
		return ok && !s.Pending
	}, 10*time.Second, 2*time.Millisecond)
	return s
}

var italian = map[string]any{"country": "IT"}

// TestKeeperCoalescesWrites: many concurrent writers, each seeing its
// write in the very next classify, cause far fewer builds than writes,
// never two at once for one project.
func TestKeeperCoalescesWrites(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := t.Context()
	b := &countingBuild{before: func(int64) error { time.Sleep(5 * time.Millisecond); return nil }}
	k := keeper.New(st, b.build)
	defer k.Close()
	for range 100 {
		_, err := st.Create(ctx, "p", "u", country("FR"))
		require.NoError(t, err)
	}
	assert.Empty(t, classify(t, k, "p", italian))
	require.EqualValues(t, 1, b.builds.Load())

	const writers, each = 32, 8
	var mu sync.Mutex
	var want []string
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				s, err := st.Create(ctx, "p", "u", country("IT"))
				if !assert.NoError(t, err) {
					return
				}
				k.Observe("p", s)
				c, err := k.Get(ctx, "p")
				if !assert.NoError(t, err) {
					return
				}
				assert.Contains(t, c.ClassifyMap(italian), s.ID, "a classify right after the write sees it")
				mu.Lock()
				want = append(want, s.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s := settled(t, k, "p")
	slices.Sort(want)
	assert.Equal(t, want, classify(t, k, "p", italian))
	builds := b.builds.Load() - 1
	t.Logf("%d writes, %d background builds", writers*each, builds)
	assert.Less(t, builds, int64(writers*each/8), "builds are coalesced")
	assert.EqualValues(t, 1, b.most.Load(), "one build of a project at a time")
	assert.Equal(t, 100+writers*each, s.Segments)
	assert.Zero(t, s.Overlay, "the overlay empties once a build includes every write")
	assert.Zero(t, s.Failures)
}

// TestKeeperWritesDoNotWaitForBuilds: while a build is stuck, Observe
// returns and classify already reflects creates, updates and deletes.
func TestKeeperWritesDoNotWaitForBuilds(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := t.Context()
	release := make(chan struct{})
	b := &countingBuild{before: func(n int64) error {
		if n > 1 {
			<-release
		}
		return nil
	}}
	k := keeper.New(st, b.build)
	defer k.Close()
	fr, err := st.Create(ctx, "p", "u", country("FR"))
	require.NoError(t, err)
	it, err := st.Create(ctx, "p", "u", country("IT"))
	require.NoError(t, err)
	assert.Equal(t, []string{it.ID}, classify(t, k, "p", italian))

	done := make(chan struct{})
	var created filter.Segment
	go func() {
		defer close(done)
		created, err = st.Create(ctx, "p", "u", country("IT"))
		if err != nil {
			return
		}
		k.Observe("p", created)
		it2 := "IT"
		upd, e := st.Update(ctx, "p", fr.ID, store.SegmentUpdate{Filters: &[]filter.Filter{filter.Cond("country", "=", it2)}})
		if err = e; err != nil {
			return
		}
		k.Observe("p", upd)
		del, e := st.Delete(ctx, "p", it.ID)
		if err = e; err != nil {
			return
		}
		k.Observe("p", del)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Observe waited for a build")
	}
	require.NoError(t, err)
	want := []string{fr.ID, created.ID}
	slices.Sort(want)
	assert.Equal(t, want, classify(t, k, "p", italian))
	s, ok := k.Stats("p")
	require.True(t, ok)
	assert.Equal(t, 2, s.Segments)
	assert.Equal(t, 3, s.Overlay)
	assert.True(t, s.Pending)
	close(release)
	s = settled(t, k, "p")
	assert.Zero(t, s.Overlay)
	assert.Equal(t, want, classify(t, k, "p", italian))
}

// TestKeeperRebuildFailureRecovers: builds fail for a while; observed
// writes stay visible through the overlay, feed-only writes wait, the
// failures are logged and retried, and once builds succeed again nothing
// is lost.
func TestKeeperRebuildFailureRecovers(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := t.Context()
	var failing atomic.Bool
	boom := errors.New("boom")
	b := &countingBuild{before: func(int64) error {
		if failing.Load() {
			return boom
		}
		return nil
	}}
	logs := &syncbuf.Buffer{}
	k := keeper.New(st, b.build, keeper.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		keeper.WithRetry(2*time.Millisecond, 20*time.Millisecond))
	defer k.Close()
	assert.Empty(t, classify(t, k, "p", italian))

	failing.Store(true)
	var observed []string
	for range 5 {
		s, err := st.Create(ctx, "p", "u", country("IT"))
		require.NoError(t, err)
		k.Observe("p", s)
		observed = append(observed, s.ID)
		assert.Equal(t, observed, classify(t, k, "p", italian))
	}
	direct, err := st.Create(ctx, "p", "u", country("IT")) // only the feed tells the keeper
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s, _ := k.Stats("p")
		return s.Failures >= 3
	}, 5*time.Second, time.Millisecond, "failed builds are retried")
	s, _ := k.Stats("p")
	assert.ErrorIs(t, s.LastErr, boom)
	assert.True(t, s.Pending)
	assert.Equal(t, observed, classify(t, k, "p", italian), "the previous classifier and the overlay serve meanwhile")
	assert.Contains(t, logs.String(), "build failed")
	assert.Contains(t, logs.String(), "boom")

	failing.Store(false)
	s = settled(t, k, "p")
	assert.NoError(t, s.LastErr)
	assert.Zero(t, s.Overlay)
	want := append(slices.Clone(observed), direct.ID)
	slices.Sort(want)
	assert.Equal(t, want, classify(t, k, "p", italian), "no write is lost")
	n, _ := k.Segments("p")
	assert.Equal(t, 6, n)
}

// countingCompile is segmatch.Compile, counted.
type countingCompile struct{ n atomic.Int64 }

func (c *countingCompile) compile(seg filter.Segment) (*segmatch.Program, error) {
	c.n.Add(1)
	return segmatch.Compile(seg)
}

func TestProgramCache(t *testing.T) {
	cc := &countingCompile{}
	c := keeper.NewProgramCache(cc.compile, 0)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	seg := country("IT")
	seg.ID, seg.UpdatedAt = "a", at

	var wg sync.WaitGroup
	progs := make([]*segmatch.Program, 16)
	for i := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Program("p", seg)
			assert.NoError(t, err)
			progs[i] = p
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, cc.n.Load(), "one version is compiled once, however many ask at once")
	for _, p := range progs {
		assert.Same(t, progs[0], p)
	}
	assert.True(t, progs[0].Match(italian))

	// A later version, another project: compiled anew.
	later := seg
	later.UpdatedAt = at.Add(time.Millisecond)
	later.Filters = []filter.Filter{filter.Cond("country", "=", "DE")}
	p, err := c.Program("p", later)
	require.NoError(t, err)
	assert.False(t, p.Match(italian))
	_, err = c.Program("q", seg)
	require.NoError(t, err)
	assert.EqualValues(t, 3, cc.n.Load())
	n, bytes := c.Usage()
	assert.Equal(t, 3, n)
	assert.Positive(t, bytes)

	// No id or no updatedAt: not from a store, never kept.
	for range 2 {
		_, err = c.Program("p", country("IT"))
		require.NoError(t, err)
	}
	assert.EqualValues(t, 5, cc.n.Load())

	// A compile error is returned, not kept.
	bad := filter.Segment{ID: "b", UpdatedAt: at, Filters: []filter.Filter{filter.Cond("x", "nope", 1)}}
	for range 2 {
		_, err = c.Program("p", bad)
		require.Error(t, err)
	}
	assert.EqualValues(t, 7, cc.n.Load())
}

func TestProgramCacheEvicts(t *testing.T) {
	cc := &countingCompile{}
	one, err := segmatch.Compile(country("IT"))
	require.NoError(t, err)
	c := keeper.NewProgramCache(cc.compile, 3*one.Size())
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	segs := make([]filter.Segment, 5)
	for i := range segs {
		segs[i] = country("IT")
		segs[i].ID, segs[i].UpdatedAt = fmt.Sprint(i), at
		_, err := c.Program("p", segs[i])
		require.NoError(t, err)
	}
	n, bytes := c.Usage()
	assert.Equal(t, 3, n)
	assert.LessOrEqual(t, bytes, 3*one.Size())
	_, err = c.Program("p", segs[4]) // most recent: kept
	require.NoError(t, err)
	assert.EqualValues(t, 5, cc.n.Load())
	_, err = c.Program("p", segs[0]) // least recent: evicted
	require.NoError(t, err)
	assert.EqualValues(t, 6, cc.n.Load())
}

// TestKeeperProgramSharesObserve: the program Observe compiled for the
// overlay is the one Program returns for that version: one compile in
// all.
func TestKeeperProgramSharesObserve(t *testing.T) {
	st := memory.New()
	defer st.Close()
	cc := &countingCompile{}
	k := keeper.New(st, keeper.CompileEach(), keeper.WithCompile(cc.compile))
	defer k.Close()
	assert.Empty(t, classify(t, k, "p", italian))
	s, err := st.Create(t.Context(), "p", "u", country("IT"))
	require.NoError(t, err)
	k.Observe("p", s)
	// One compile, or none when the feed's event and a build were first
	// (the write is visible already).
	assert.LessOrEqual(t, cc.n.Load(), int64(1))
	k.Observe("p", s) // visible: nothing to do
	for range 3 {
		p, err := k.Program("p", s)
		require.NoError(t, err)
		assert.True(t, p.Match(italian))
	}
	assert.EqualValues(t, 1, cc.n.Load())
}
