package keeper_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/keeper"
	"github.com/segmatch/segmatch/store/memory"
)

func stores(t *testing.T) map[string]func(t *testing.T, buffer int) store.Store {
	return map[string]func(t *testing.T, buffer int) store.Store{
		"memory": func(t *testing.T, buffer int) store.Store {
			st := memory.New(memory.WithWatchBuffer(buffer))
			t.Cleanup(func() { st.Close() })
			return st
		},
		"bolt": func(t *testing.T, buffer int) store.Store {
			st, err := bolt.Open(filepath.Join(t.TempDir(), "k.db"), bolt.WithWatchBuffer(buffer))
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

func country(c string) filter.Segment {
	return filter.Segment{Name: "in " + c, Filters: []filter.Filter{filter.Cond("country", "=", c)}}
}

func classify(t *testing.T, k *keeper.Keeper, project string, contact map[string]any) []string {
	t.Helper()
	c, err := k.Get(t.Context(), project)
	require.NoError(t, err)
	return c.ClassifyMap(contact)
}

// classifyNow is classify for the condition of require.Eventually, which
// runs off the test goroutine where require must not be used: a failed Get
// is reported as no match yet.
func classifyNow(k *keeper.Keeper, project string, contact map[string]any, want []string) bool {
	c, err := k.Get(context.Background(), project)
	return err == nil && slices.Equal(c.ClassifyMap(contact), want)
}

func TestKeeperFollowsChanges(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t, 0)
			ctx := t.Context()
			it, err := st.Create(ctx, "p", "u", country("IT"))
			require.NoError(t, err)
			_, err = st.Create(ctx, "other", "u", country("IT"))
			require.NoError(t, err)

			k := keeper.New(st, keeper.CompileEach())
			defer k.Close()
			contact := map[string]any{"country": "IT"}
			assert.Equal(t, []string{it.ID}, classify(t, k, "p", contact))
			assert.Equal(t, []string{}, classify(t, k, "empty", contact))

			// A write through the store reaches the keeper via Watch.
			it2, err := st.Create(ctx, "p", "u", filter.Segment{Name: "all"})
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				return classifyNow(k, "p", contact, []string{it.ID, it2.ID})
			}, 5*time.Second, 5*time.Millisecond)

			// Observe makes a write visible at once.
			de := "DE"
			upd, err := st.Update(ctx, "p", it.ID, store.SegmentUpdate{Filters: &[]filter.Filter{filter.Cond("country", "=", de)}})
			require.NoError(t, err)
			k.Observe("p", upd)
			assert.Equal(t, []string{it2.ID}, classify(t, k, "p", contact))

			del, err := st.Delete(ctx, "p", it2.ID)
			require.NoError(t, err)
			k.Observe("p", del)
			assert.Equal(t, []string{}, classify(t, k, "p", contact))
			// An older state (the feed's late events) does not come back.
			k.Observe("p", it2)
			assert.Equal(t, []string{}, classify(t, k, "p", contact))
			n, ok := k.Segments("p")
			assert.True(t, ok)
			assert.Equal(t, 1, n)
		})
	}
}

// TestKeeperResync overflows a one-event watch buffer with many writes
// while readers classify concurrently: the keeper must end up with the
// store's state (via EventResync and a re-List).
func TestKeeperResync(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t, 1)
			ctx := t.Context()
			k := keeper.New(st, keeper.CompileEach())
			defer k.Close()
			_ = classify(t, k, "p", nil)

			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						c, err := k.Get(ctx, "p")
						if err == nil {
							c.ClassifyMap(map[string]any{"country": "IT"})
						}
					}
				}()
			}
			var want []string
			for i := range 60 {
				s, err := st.Create(ctx, "p", "u", country("IT"))
				require.NoError(t, err)
				if i%3 == 0 {
					_, err = st.Delete(ctx, "p", s.ID)
					require.NoError(t, err)
					continue
				}
				want = append(want, s.ID)
			}
			require.Eventually(t, func() bool {
				return classifyNow(k, "p", map[string]any{"country": "IT"}, want)
			}, 10*time.Second, 10*time.Millisecond)
			assert.Equal(t, want, classify(t, k, "p", map[string]any{"country": "IT"}))
			close(stop)
			wg.Wait()
		})
	}
}

func TestKeeperBuildFailureAndClose(t *testing.T) {
	st := memory.New()
	defer st.Close()
	boom := errors.New("boom")
	k := keeper.New(st, func([]filter.Segment) (keeper.Classifier, error) { return nil, boom })
	_, err := k.Get(t.Context(), "p")
	require.ErrorIs(t, err, boom)
	_, ok := k.Segments("p")
	assert.False(t, ok, "a failed start is forgotten")
	require.NoError(t, k.Close())
	_, err = k.Get(t.Context(), "p")
	require.ErrorIs(t, err, keeper.ErrClosed)
	require.NoError(t, k.Close())
}

func TestKeeperStoreClosed(t *testing.T) {
	st := memory.New()
	k := keeper.New(st, keeper.CompileEach())
	defer k.Close()
	_, err := k.Get(t.Context(), "p")
	require.NoError(t, err)
	require.NoError(t, st.Close())
	// The watcher ends and the project is forgotten; the next Get fails.
	require.Eventually(t, func() bool {
		_, err := k.Get(context.Background(), "p")
		return errors.Is(err, store.ErrClosed)
	}, 5*time.Second, 5*time.Millisecond)
}

func TestKeeperManyProjects(t *testing.T) {
	st := memory.New()
	defer st.Close()
	k := keeper.New(st, keeper.CompileEach())
	defer k.Close()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("p%d", i%4)
			_, err := k.Get(t.Context(), p)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
}

// movingStore runs a write before each List call after the first, so that
// a project read in several pages moves between the pages.
type movingStore struct {
	store.Store
	mu     sync.Mutex
	calls  int  // List calls while moving
	moving bool // run before
	before func(call int)
}

func (m *movingStore) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	m.mu.Lock()
	if m.moving {
		m.calls++
		if m.calls > 1 {
			m.before(m.calls)
		}
	}
	m.mu.Unlock()
	return m.Store.List(ctx, project, opts)
}

// TestKeeperListMoving reads a project of several pages while segments
// before the page being read are deleted, and others are created that
// sort first (a clock behind the others'): no segment that stays active
// may be missed, though no event ever names it.
func TestKeeperListMoving(t *testing.T) {
	const n = 2*store.MaxLimit + 300
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64 // milliseconds after base
	mem := memory.New(memory.WithClock(func() time.Time { return base.Add(time.Duration(clock.Load()) * time.Millisecond) }))
	defer mem.Close()
	ctx := t.Context()
	var ids []string
	for i := range n {
		clock.Store(int64(1000 + i))
		s, err := mem.Create(ctx, "p", "u", filter.Segment{Name: fmt.Sprint(i)})
		require.NoError(t, err)
		ids = append(ids, s.ID)
	}
	deleted := map[string]bool{}
	var early []string
	st := &movingStore{Store: mem, moving: true, before: func(call int) {
		// Delete from the start of the list, which moves every later
		// segment back across the page boundaries.
		for range 3 {
			id := ids[len(deleted)]
			_, err := mem.Delete(context.Background(), "p", id)
			assert.NoError(t, err)
			deleted[id] = true
		}
		if call%2 == 0 {
			clock.Store(int64(call)) // before every other createdAt
			s, err := mem.Create(context.Background(), "p", "u", filter.Segment{Name: "early"})
			assert.NoError(t, err)
			early = append(early, s.ID)
		}
	}}
	k := keeper.New(st, keeper.CompileEach())
	defer k.Close()
	got := classify(t, k, "p", nil)
	st.mu.Lock()
	st.moving = false
	calls := st.calls
	st.mu.Unlock()
	t.Logf("%d List calls, %d deletes, %d creates", calls, len(deleted), len(early))
	gotSet := map[string]bool{}
	for _, id := range got {
		gotSet[id] = true
	}
	require.Greater(t, calls, 2, "the project was read in several pages")
	for _, id := range ids {
		if !deleted[id] {
			assert.True(t, gotSet[id], "segment %s, active throughout, is missing", id)
		}
	}
	assert.Len(t, got, len(gotSet), "no segment twice")
	// Once the events are applied, the keeper holds exactly the store's
	// active segments.
	want := slices.Concat(early, ids[len(deleted):])
	slices.Sort(want)
	require.Eventually(t, func() bool { return classifyNow(k, "p", nil, want) }, 5*time.Second, 5*time.Millisecond)
}

// TestKeeperCloseDuringStart closes keepers while first Gets start their
// watchers: Close must wait for every watcher that started (run with
// -race), and a Get that loses the race fails cleanly.
func TestKeeperCloseDuringStart(t *testing.T) {
	st := memory.New()
	defer st.Close()
	for range 50 {
		k := keeper.New(st, keeper.CompileEach())
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := k.Get(t.Context(), fmt.Sprintf("p%d", i))
				if err != nil && !errors.Is(err, keeper.ErrClosed) && !errors.Is(err, context.Canceled) {
					t.Errorf("Get: %v", err)
				}
			}()
		}
		require.NoError(t, k.Close())
		wg.Wait()
		_, err := k.Get(t.Context(), "p0")
		require.ErrorIs(t, err, keeper.ErrClosed)
	}
}
