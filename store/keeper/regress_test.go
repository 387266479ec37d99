package keeper_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
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

// feedStore is a memory store whose change feed the test drives: the
// store's own events are never delivered, only those sent on ch (so a
// test decides which are "dropped").
type feedStore struct {
	*memory.Store
	ch     chan store.Event
	lists  atomic.Int64
	onList atomic.Pointer[func()] // run (once) as a List begins
}

func (f *feedStore) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	f.lists.Add(1)
	if fn := f.onList.Swap(nil); fn != nil {
		(*fn)()
	}
	return f.Store.List(ctx, project, opts)
}

func newFeedStore(t *testing.T) *feedStore {
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	return &feedStore{Store: st, ch: make(chan store.Event, 16)}
}

func (f *feedStore) Watch(ctx context.Context, project string) (<-chan store.Event, error) {
	out := make(chan store.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-f.ch:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// TestKeeperLateObserveAfterResync: writer 1 writes A, and its Observe is
// delayed; writer 2 deletes A, and the feed drops that event (and writer
// 1's): a resync re-lists without A. Writer 1's Observe then arrives, with
// a state older than the delete: it must not bring A back. Before, the
// resync forgot A altogether (no tombstone), so the late Observe made A
// active again, forever.
func TestKeeperLateObserveAfterResync(t *testing.T) {
	for _, late := range []string{"create", "update"} {
		t.Run(late, func(t *testing.T) {
			fs := newFeedStore(t)
			ctx := t.Context()
			k := keeper.New(fs, keeper.CompileEach())
			defer k.Close()
			a, err := fs.Create(ctx, "p", "u", country("IT"))
			require.NoError(t, err)
			assert.Equal(t, []string{a.ID}, classify(t, k, "p", italian)) // lists A
			observed := a
			if late == "update" {
				// Newer than what the keeper holds, older than the delete.
				observed, err = fs.Update(ctx, "p", a.ID, store.SegmentUpdate{Name: new("renamed")})
				require.NoError(t, err)
				require.True(t, observed.UpdatedAt.After(a.UpdatedAt))
			}
			del, err := fs.Delete(ctx, "p", a.ID)
			require.NoError(t, err)
			fs.ch <- store.Event{Type: store.EventResync, Project: "p"}
			require.Eventually(t, func() bool { return classifyNow(k, "p", italian, []string{}) }, 5*time.Second, time.Millisecond)

			k.Observe("p", observed) // writer 1, late
			assert.Equal(t, []string{}, classify(t, k, "p", italian), "a late Observe resurrected a deleted segment")
			s := settled(t, k, "p")
			assert.Equal(t, []string{}, classify(t, k, "p", italian), "a late Observe resurrected a deleted segment")
			assert.Zero(t, s.Segments)
			_, err = fs.Get(ctx, "p", a.ID)
			require.ErrorIs(t, err, store.ErrNotFound)

			// The feed's events, had they come late, change nothing either.
			fs.ch <- store.Event{Type: store.EventUpdated, Project: "p", Segment: observed}
			k.Observe("p", del)
			k.Observe("p", observed)
			time.Sleep(20 * time.Millisecond)
			settled(t, k, "p")
			assert.Equal(t, []string{}, classify(t, k, "p", italian))
			tombs, filters, _, progs := k.Tombstones("p")
			assert.Equal(t, 1, tombs)
			assert.Zero(t, filters)
			assert.Zero(t, progs)
		})
	}
}

// bigSegment is a valid segment whose one filter holds about n bytes.
func bigSegment(n int) filter.Segment {
	vals := make([]string, 0, n/40)
	for i := range n / 40 {
		vals = append(vals, fmt.Sprintf("%q", fmt.Sprintf("value-%030d", i)))
	}
	return filter.Segment{Name: "big", Match: filter.All, Filters: []filter.Filter{
		{Field: "x", Operator: "in", Value: []byte("[" + strings.Join(vals, ",") + "]")}}}
}

// TestKeeperTombstonesHoldNoDefinitions: created and deleted segments
// leave tombstones of an id, an updatedAt and a status, nothing of their
// filters, and neither the overlay nor the ProgramCache keeps their
// programs. Before, each tombstone kept the whole deleted segment (30
// create+delete of a 760 KiB segment held 22 MiB with nothing active),
// and the cache its programs.
func TestKeeperTombstonesHoldNoDefinitions(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := t.Context()
	k := keeper.New(st, keeper.CompileEach())
	defer k.Close()
	assert.Empty(t, classify(t, k, "p", italian))
	def := bigSegment(100 << 10)
	const n = 10
	for range n {
		s, err := st.Create(ctx, "p", "u", def)
		require.NoError(t, err)
		k.Observe("p", s)
		d, err := st.Delete(ctx, "p", s.ID)
		require.NoError(t, err)
		require.NotEmpty(t, d.Filters, "the store returns the deleted segment whole")
		k.Observe("p", d)
	}
	tombs, filters, bytes, progs := k.Tombstones("p")
	assert.Equal(t, n, tombs)
	assert.Zero(t, filters, "tombstones keep no filters")
	assert.Zero(t, bytes)
	assert.Zero(t, progs, "the overlay keeps no program of a deleted segment")
	programs, _ := k.ProgramUsage()
	assert.Zero(t, programs, "the ProgramCache keeps no program of a deleted segment")
	s := settled(t, k, "p")
	assert.Zero(t, s.Segments)
	tombs, filters, _, _ = k.Tombstones("p")
	assert.Equal(t, n, tombs)
	assert.Zero(t, filters)
}

// TestKeeperFeedDeleteDropsOverlayProgram: a segment observed (in the
// overlay, its program evaluated on its own) then deleted by a write that
// only the feed reports, while builds are stuck: the overlay drops its
// program and hides it at once. Before, the program stayed in the overlay
// (and the deleted segment classified) until a build came in.
func TestKeeperFeedDeleteDropsOverlayProgram(t *testing.T) {
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
	defer close(release) // before Close, which waits for the build
	assert.Empty(t, classify(t, k, "p", italian))
	a, err := st.Create(ctx, "p", "u", country("IT"))
	require.NoError(t, err)
	k.Observe("p", a)
	assert.Equal(t, []string{a.ID}, classify(t, k, "p", italian))
	_, err = st.Delete(ctx, "p", a.ID) // another server's delete: feed only
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		tombs, _, _, progs := k.Tombstones("p")
		return tombs == 1 && progs == 0
	}, 5*time.Second, time.Millisecond, "the overlay still holds the deleted segment's program")
	assert.Equal(t, []string{}, classify(t, k, "p", italian))
	s, _ := k.Stats("p")
	assert.Zero(t, s.Segments)
	assert.True(t, s.Pending)
}

// TestKeeperBuildPanicIsAFailedBuild: a BuildFunc that panics (a bug met
// by some stored segment) in the background rebuild fails that build like
// an error: logged with its stack, the previous classifier and the
// overlay kept, retried. Before, the panic ended the process. A panic in
// the first build fails that Get.
func TestKeeperBuildPanicIsAFailedBuild(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := t.Context()
	var panicking atomic.Bool
	b := &countingBuild{before: func(int64) error {
		if panicking.Load() {
			panic("compiler bug")
		}
		return nil
	}}
	logs := &syncbuf.Buffer{}
	k := keeper.New(st, b.build, keeper.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		keeper.WithRetry(2*time.Millisecond, 20*time.Millisecond))
	defer k.Close()
	fr, err := st.Create(ctx, "p", "u", country("IT"))
	require.NoError(t, err)
	assert.Equal(t, []string{fr.ID}, classify(t, k, "p", italian))

	panicking.Store(true)
	a, err := st.Create(ctx, "p", "u", country("IT"))
	require.NoError(t, err)
	k.Observe("p", a)
	want := []string{fr.ID, a.ID}
	assert.Equal(t, want, classify(t, k, "p", italian))
	require.Eventually(t, func() bool {
		s, _ := k.Stats("p")
		return s.Failures >= 3
	}, 5*time.Second, time.Millisecond, "a panicking build is retried")
	s, _ := k.Stats("p")
	require.Error(t, s.LastErr)
	assert.Contains(t, s.LastErr.Error(), "panicked")
	assert.Contains(t, s.LastErr.Error(), "compiler bug")
	assert.True(t, s.Pending)
	assert.Equal(t, want, classify(t, k, "p", italian), "the previous classifier and the overlay serve meanwhile")
	assert.Contains(t, logs.String(), "build panicked")
	assert.Contains(t, logs.String(), "regress_test.go", "the stack is logged")

	panicking.Store(false)
	s = settled(t, k, "p")
	assert.NoError(t, s.LastErr)
	assert.Zero(t, s.Overlay)
	assert.Equal(t, 2, s.Segments)
	assert.Equal(t, want, classify(t, k, "p", italian))

	// The first build, on Get's path.
	k2 := keeper.New(st, func([]filter.Segment) (keeper.Classifier, error) { panic("compiler bug") })
	defer k2.Close()
	_, err = k2.Get(ctx, "p")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "panicked")
	_, ok := k2.Stats("p")
	assert.False(t, ok, "a failed first build is not kept; a later Get tries again")
}

// TestKeeperOverlayModel: while every build fails, random creates,
// updates and deletes, all observed, pile up in the overlay (kept sorted
// incrementally, not rebuilt at each write): after each one, classify
// and the segment count match a model of the store. Once builds succeed,
// the overlay empties and the built classifier agrees.
func TestKeeperOverlayModel(t *testing.T) {
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
	k := keeper.New(st, b.build, keeper.WithRetry(time.Millisecond, 5*time.Millisecond))
	defer k.Close()
	model := map[string]bool{} // active id -> matches italian
	for range 20 {
		s, err := st.Create(ctx, "p", "u", country("IT"))
		require.NoError(t, err)
		model[s.ID] = true
	}
	want := func() []string {
		out := []string{}
		for id, it := range model {
			if it {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	assert.Equal(t, want(), classify(t, k, "p", italian))
	failing.Store(true)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		ids := make([]string, 0, len(model))
		for id := range model {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var s filter.Segment
		var err error
		switch op := rng.IntN(3); {
		case op == 0 || len(ids) == 0:
			c := []string{"IT", "FR"}[rng.IntN(2)]
			s, err = st.Create(ctx, "p", "u", country(c))
			require.NoError(t, err)
			model[s.ID] = c == "IT"
		case op == 1:
			id := ids[rng.IntN(len(ids))]
			c := []string{"IT", "FR"}[rng.IntN(2)]
			s, err = st.Update(ctx, "p", id, store.SegmentUpdate{Filters: &[]filter.Filter{filter.Cond("country", "=", c)}})
			require.NoError(t, err)
			model[id] = c == "IT"
		default:
			id := ids[rng.IntN(len(ids))]
			s, err = st.Delete(ctx, "p", id)
			require.NoError(t, err)
			delete(model, id)
		}
		k.Observe("p", s)
		require.Equal(t, want(), classify(t, k, "p", italian), "after write %d", i)
		n, _ := k.Segments("p")
		require.Equal(t, len(model), n, "after write %d", i)
	}
	s, _ := k.Stats("p")
	assert.Positive(t, s.Overlay)
	failing.Store(false)
	s = settled(t, k, "p")
	assert.Zero(t, s.Overlay)
	assert.Equal(t, len(model), s.Segments)
	assert.Equal(t, want(), classify(t, k, "p", italian))
}

// TestKeeperLateObserveCheckedAfterResync: the create and the delete of A were
// both dropped, so the resync's list holds nothing of A (it cannot tell
// deleted from never created); then the creator's late Observe of A
// arrives, or one arrives while the list is read (newer than the state
// held when it began). Either way A must not stay active: the keeper
// checks such observed states with the store before its next build.
// Before, A was active forever.
func TestKeeperLateObserveCheckedAfterResync(t *testing.T) {
	for _, when := range []string{"after the resync", "during its list"} {
		t.Run(when, func(t *testing.T) {
			fs := newFeedStore(t)
			ctx := t.Context()
			k := keeper.New(fs, keeper.CompileEach())
			defer k.Close()
			var a, observed filter.Segment
			var err error
			if when == "during its list" {
				a, err = fs.Create(ctx, "p", "u", country("IT"))
				require.NoError(t, err)
			}
			want := []string{}
			if a.ID != "" {
				want = []string{a.ID}
			}
			assert.Equal(t, want, classify(t, k, "p", italian))
			if when == "after the resync" {
				a, err = fs.Create(ctx, "p", "u", country("IT"))
				require.NoError(t, err)
				observed = a
			} else {
				observed, err = fs.Update(ctx, "p", a.ID, store.SegmentUpdate{Name: new("renamed")})
				require.NoError(t, err)
				fs.onList.Store(new(func() { k.Observe("p", observed) }))
			}
			_, err = fs.Delete(ctx, "p", a.ID)
			require.NoError(t, err)
			lists := fs.lists.Load()
			fs.ch <- store.Event{Type: store.EventResync, Project: "p"}
			require.Eventually(t, func() bool { return fs.lists.Load() > lists }, 5*time.Second, time.Millisecond)
			if when == "after the resync" {
				time.Sleep(20 * time.Millisecond)
				k.Observe("p", observed)
			}
			require.Eventually(t, func() bool { return classifyNow(k, "p", italian, []string{}) }, 5*time.Second, time.Millisecond,
				"a late Observe resurrected a deleted segment")
			s := settled(t, k, "p")
			assert.Zero(t, s.Segments)
			assert.Equal(t, []string{}, classify(t, k, "p", italian))
			tombs, filters, _, _ := k.Tombstones("p")
			assert.Equal(t, 1, tombs)
			assert.Zero(t, filters)

			// A write made now (its event follows the resync) is kept.
			b, err := fs.Create(ctx, "p", "u", country("IT"))
			require.NoError(t, err)
			k.Observe("p", b)
			assert.Equal(t, []string{b.ID}, classify(t, k, "p", italian))
			settled(t, k, "p")
			assert.Equal(t, []string{b.ID}, classify(t, k, "p", italian))
		})
	}
}

// TestProgramCacheForget: Forget drops every version of one segment of
// one project, nothing else, and a compile under way when it runs is
// returned to its callers but not kept.
func TestProgramCacheForget(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	c := keeper.NewProgramCache(func(seg filter.Segment) (*segmatch.Program, error) {
		n.Add(1)
		if seg.ID == "slow" {
			<-release
		}
		return segmatch.Compile(seg)
	}, 0)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	version := func(id string, i int) filter.Segment {
		s := country("IT")
		s.ID, s.UpdatedAt = id, at.Add(time.Duration(i)*time.Millisecond)
		return s
	}
	for i := range 3 {
		for _, id := range []string{"a", "b"} {
			_, err := c.Program("p", version(id, i))
			require.NoError(t, err)
		}
	}
	_, err := c.Program("q", version("a", 0))
	require.NoError(t, err)
	progs, bytes := c.Usage()
	require.Equal(t, 7, progs)
	c.Forget("p", "a")
	progs, left := c.Usage()
	assert.Equal(t, 4, progs, "b's versions and q's a stay")
	assert.Less(t, left, bytes)
	before := n.Load()
	_, err = c.Program("p", version("b", 2))
	require.NoError(t, err)
	_, err = c.Program("q", version("a", 0))
	require.NoError(t, err)
	assert.Equal(t, before, n.Load(), "kept, not compiled again")
	_, err = c.Program("p", version("a", 2))
	require.NoError(t, err)
	assert.Equal(t, before+1, n.Load(), "forgotten: compiled again")

	// Forgotten while compiling.
	done := make(chan *segmatch.Program)
	go func() {
		p, err := c.Program("p", version("slow", 0))
		assert.NoError(t, err)
		done <- p
	}()
	require.Eventually(t, func() bool { return n.Load() == before+2 }, 5*time.Second, time.Millisecond)
	c.Forget("p", "slow")
	close(release)
	assert.NotNil(t, <-done, "the compile under way is returned")
	progs, _ = c.Usage()
	assert.Equal(t, 5, progs, "but not kept")
	_, err = c.Program("p", version("slow", 0))
	require.NoError(t, err)
	assert.Equal(t, before+3, n.Load())
	progs, _ = c.Usage()
	assert.Equal(t, 6, progs)
}
