package leads

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/memory"
)

// faultStore is a memory store whose lead calls fail on demand, and
// which records its Watch contexts and counts its calls.
type faultStore struct {
	*memory.Store
	failLoad atomic.Bool // ForEachLead fails
	loads    atomic.Int64
	lists    atomic.Int64

	mu      sync.Mutex
	watches []context.Context

	// afterDelete, when set, runs after the inner DeleteLead committed;
	// the error of the call is then ctx's (as a remote store whose reply
	// was cut by the cancellation says).
	afterDelete func()
	afterPut    func()
}

var errDisk = errors.New("disk on fire")

func (s *faultStore) ForEachLead(ctx context.Context, project string, fn func(string, []byte) error) error {
	s.loads.Add(1)
	if s.failLoad.Load() {
		return errDisk
	}
	return s.Store.ForEachLead(ctx, project, fn)
}

func (s *faultStore) Watch(ctx context.Context, project string) (<-chan store.Event, error) {
	s.mu.Lock()
	s.watches = append(s.watches, ctx)
	s.mu.Unlock()
	return s.Store.Watch(ctx, project)
}

func (s *faultStore) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	s.lists.Add(1)
	return s.Store.List(ctx, project, opts)
}

func (s *faultStore) DeleteLead(ctx context.Context, project, id string) error {
	if err := s.Store.DeleteLead(ctx, project, id); err != nil || s.afterDelete == nil {
		return err
	}
	s.afterDelete()
	return ctx.Err()
}

func (s *faultStore) PutLeads(ctx context.Context, project string, leads []store.Lead) error {
	if err := s.Store.PutLeads(ctx, project, leads); err != nil || s.afterPut == nil {
		return err
	}
	s.afterPut()
	return ctx.Err()
}

// TestLoadFailure: a load that fails releases its change feed, is not
// tried again before its back-off (the calls meanwhile fail at once with
// a *LoadError saying when to retry), and the back-off grows, bounded;
// once the store is back the project loads.
func TestLoadFailure(t *testing.T) {
	st := &faultStore{Store: memory.New()}
	st.failLoad.Store(true)
	h := New(st, Limits{}, nil)
	defer h.Close()
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := t.Context()

	check := func(wantRetry time.Duration) {
		t.Helper()
		for i := range 50 {
			_, err := h.Stats(ctx, "p")
			var le *LoadError
			if !errors.Is(err, ErrUnavailable) || !errors.As(err, &le) || !errors.Is(err, errDisk) {
				t.Fatalf("call %d: %v, want a *LoadError", i, err)
			}
			if le.RetryAfter() <= 0 || le.RetryAfter() > wantRetry {
				t.Fatalf("call %d: retry after %v, want (0, %v]", i, le.RetryAfter(), wantRetry)
			}
		}
	}
	check(LoadRetryMin)
	if n := st.loads.Load(); n != 1 {
		t.Fatalf("50 calls during the back-off loaded the project %d times, want 1", n)
	}
	st.mu.Lock()
	w := st.watches[0]
	st.mu.Unlock()
	if w.Err() == nil {
		t.Fatal("the failed load kept its change feed subscription")
	}
	// The back-off doubles at each failure in a row, up to LoadRetryMax.
	retry := LoadRetryMin
	for i := 2; i < 10; i++ {
		advance(retry)
		retry = min(2*retry, LoadRetryMax)
		check(retry)
		if n := st.loads.Load(); n != int64(i) {
			t.Fatalf("after failure %d: %d loads", i, n)
		}
	}
	if retry != LoadRetryMax {
		t.Fatalf("the back-off reached %v, want its bound %v", retry, LoadRetryMax)
	}
	st.mu.Lock()
	for i, w := range st.watches {
		if w.Err() == nil {
			t.Errorf("failed load %d kept its change feed subscription", i+1)
		}
	}
	st.mu.Unlock()
	st.failLoad.Store(false)
	advance(retry)
	if _, err := h.Stats(ctx, "p"); err != nil {
		t.Fatalf("once the store is back: %v", err)
	}
	if _, ok := h.failed["p"]; ok {
		t.Fatal("a loaded project kept its failures")
	}
}
