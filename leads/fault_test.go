package leads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// failPutAt: the PutLeads call of that number (from 1) fails, and
	// every one after it while failPuts holds.
	failPutAt atomic.Int64
	failPuts  atomic.Bool
	puts      atomic.Int64
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
	if n := s.puts.Add(1); s.failPuts.Load() && n >= s.failPutAt.Load() {
		return errDisk
	}
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

// storedIDs lists a project's stored lead ids, in their order.
func storedIDs(t *testing.T, st store.LeadStore, project string) []string {
	t.Helper()
	var ids []string
	if err := st.ForEachLead(t.Context(), project, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestBulkStoreFailure: a store failing mid-request stops it with a
// *BulkError whose Line is the first line of the batch the store
// refused: every line before it is accepted (stored) or rejected (listed
// with its line), none after it is reported or stored, and sending the
// lines from Line on again completes the load exactly.
func TestBulkStoreFailure(t *testing.T) {
	st := &faultStore{Store: memory.New()}
	h := New(st, Limits{}, nil)
	defer h.Close()
	ctx := t.Context()
	const n = 2600 // batches of batchLeads: the second fails
	var lines []string
	valid := map[int]string{} // line -> id
	for i := 1; i <= n; i++ {
		switch {
		case i%97 == 0:
			lines = append(lines, "{broken")
		case i%101 == 0:
			lines = append(lines, `{"_id":""}`)
		default:
			id := fmt.Sprintf("l%05d", i)
			valid[i] = id
			lines = append(lines, `{"_id":"`+id+`"}`)
		}
	}
	body := func(from int) string { return strings.Join(lines[from-1:], "\n") + "\n" }
	st.failPutAt.Store(2)
	st.failPuts.Store(true)
	rep, err := h.Bulk(ctx, "p", strings.NewReader(body(1)), nil)
	var be *BulkError
	if !errors.As(err, &be) || !errors.Is(err, errDisk) {
		t.Fatalf("bulk: %v, want a *BulkError of the store's failure", err)
	}
	// The first batch: the first batchLeads valid lines.
	first, k := 0, 0
	for i := 1; i <= n; i++ {
		if _, ok := valid[i]; ok {
			if k++; k == batchLeads {
				first = i + 1
				break
			}
		}
	}
	if be.Line != first {
		t.Fatalf("stopped at line %d, want %d (the failed batch's first)", be.Line, first)
	}
	if rep.Accepted != batchLeads || be.Report.Accepted != batchLeads {
		t.Fatalf("accepted %d, want %d", rep.Accepted, batchLeads)
	}
	wantRejected := 0
	for i := 1; i < first; i++ {
		if _, ok := valid[i]; !ok {
			wantRejected++
		}
	}
	if rep.Rejected != wantRejected || len(rep.Errors) != wantRejected {
		t.Fatalf("rejected %d (%d listed), want %d: the lines before %d", rep.Rejected, len(rep.Errors), wantRejected, first)
	}
	for _, e := range rep.Errors {
		if _, ok := valid[e.Line]; ok || e.Line >= first {
			t.Fatalf("line %d reported rejected", e.Line)
		}
	}
	if got := storedIDs(t, st, "p"); len(got) != batchLeads || got[len(got)-1] != valid[first-1] {
		t.Fatalf("stored %d leads (last %v), want the %d before line %d", len(got), got[len(got)-1:], batchLeads, first)
	}
	// The store is back: the rest, sent again, completes the load.
	st.failPuts.Store(false)
	rep2, err := h.Bulk(ctx, "p", strings.NewReader(body(be.Line)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted+rep2.Accepted != len(valid) || rep.Rejected+rep2.Rejected != n-len(valid) {
		t.Fatalf("in all: %d accepted, %d rejected; want %d, %d", rep.Accepted+rep2.Accepted, rep.Rejected+rep2.Rejected, len(valid), n-len(valid))
	}
	if got := storedIDs(t, st, "p"); len(got) != len(valid) {
		t.Fatalf("stored %d, want %d", len(got), len(valid))
	}
	if s, _ := h.Stats(ctx, "p"); s.Leads != len(valid) {
		t.Fatalf("indexed %d, want %d", s.Leads, len(valid))
	}
}

// TestBulkBytes: the body is bounded in bytes (MaxBulkBytes): the line
// passing the bound stops the request (ErrBulkTooLarge) at that line,
// the lines before applied; a line without end stops being read there.
func TestBulkBytes(t *testing.T) {
	h := New(memory.New(), Limits{MaxBulkBytes: 100}, nil)
	defer h.Close()
	ctx := t.Context()
	// 9 lines of 11 bytes: 99 bytes; the tenth passes 100.
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, `{"id":"%c"}`+"\n", 'a'+i)
	}
	rep, err := h.Bulk(ctx, "p", strings.NewReader(b.String()), nil)
	var be *BulkError
	if !errors.As(err, &be) || !errors.Is(err, ErrBulkTooLarge) || be.Line != 10 || rep.Accepted != 9 {
		t.Fatalf("bulk: %+v, %v; want ErrBulkTooLarge at line 10, 9 accepted", rep, err)
	}
	if !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("%v: does not name the limit", err)
	}
	// Exactly at the bound: accepted.
	rep, err = h.Bulk(ctx, "p", strings.NewReader(strings.Repeat(" ", 89)+`{"_id":"z"}`), nil)
	if err != nil || rep.Accepted != 1 {
		t.Fatalf("a body of exactly the bound: %+v, %v", rep, err)
	}
	// An endless line: read no further than the bound (and its buffer).
	r := &endless{}
	if _, err := h.Bulk(ctx, "p", r, nil); !errors.Is(err, ErrBulkTooLarge) {
		t.Fatalf("an endless line: %v", err)
	}
	if r.n > 1<<20 {
		t.Fatalf("read %d bytes of an endless line", r.n)
	}
}

// endless is a body of one line that never ends.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 64<<20 {
		return 0, errors.New("read far past the bound")
	}
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

// TestWriteCancelledAfterCommit: a request cancelled while the store
// commits its write (a remote store then answers the cancellation,
// though the write is committed) leaves the index agreeing with the
// store: a delete leaves both, a put is in both. A request cancelled
// before writes nothing.
func TestWriteCancelledAfterCommit(t *testing.T) {
	st := &faultStore{Store: memory.New()}
	h := New(st, Limits{}, nil)
	defer h.Close()
	if _, err := h.Put(t.Context(), "p", "a", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	st.afterDelete, st.afterPut = cancel, cancel
	err := h.Delete(ctx, "p", "a")
	_, indexed := h.loaded("p").ix.Lookup("a")
	stored := slices.Contains(storedIDs(t, st, "p"), "a")
	if indexed != stored {
		t.Fatalf("after a delete cancelled at its commit (%v): indexed %v, stored %v", err, indexed, stored)
	}
	ctx, cancel = context.WithCancel(t.Context())
	st.afterPut = cancel
	_, err = h.Put(ctx, "p", "b", []byte(`{}`))
	_, indexed = h.loaded("p").ix.Lookup("b")
	stored = slices.Contains(storedIDs(t, st, "p"), "b")
	if indexed != stored {
		t.Fatalf("after a put cancelled at its commit (%v): indexed %v, stored %v", err, indexed, stored)
	}
	ctx, cancel = context.WithCancel(t.Context())
	st.afterPut = cancel
	_, err = h.Bulk(ctx, "p", strings.NewReader(`{"_id":"c"}`+"\n"), nil)
	_, indexed = h.loaded("p").ix.Lookup("c")
	stored = slices.Contains(storedIDs(t, st, "p"), "c")
	if indexed != stored {
		t.Fatalf("after a bulk cancelled at its commit (%v): indexed %v, stored %v", err, indexed, stored)
	}
	// Cancelled before: nothing written.
	st.afterDelete, st.afterPut = nil, nil
	if err := h.Delete(ctx, "p", "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled delete: %v", err)
	}
	if !slices.Contains(storedIDs(t, st, "p"), "b") {
		t.Fatal("a delete cancelled before its write deleted")
	}
}

// TestSegmentWriteRegistersOnce: a segment written through the server
// (SegmentWritten) registers the project's segments once, whether the
// change feed's event for it comes after (found reflected) or before
// (SegmentWritten finds it reflected); a write made elsewhere is
// registered from the feed, once.
func TestSegmentWriteRegistersOnce(t *testing.T) {
	st := memory.New()
	h := New(st, Limits{}, nil)
	defer h.Close()
	ctx := t.Context()
	if _, err := h.Put(ctx, "p", "a", []byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	p := h.loaded("p")
	seen := int64(0)
	// waitFeed waits for the feed to have handled n more events.
	waitFeed := func(n int64) {
		t.Helper()
		seen += n
		deadline := time.Now().Add(10 * time.Second)
		for p.feedEvents.Load() < seen {
			if time.Now().After(deadline) {
				t.Fatalf("the feed handled %d events, want %d", p.feedEvents.Load(), seen)
			}
			time.Sleep(time.Millisecond)
		}
	}
	regs := p.registrations.Load()
	want := func(more int64, what string) {
		t.Helper()
		regs += more
		if got := p.registrations.Load(); got != regs {
			t.Fatalf("%s: %d registrations, want %d", what, got, regs)
		}
	}
	def := filter.Segment{Name: "x1", Filters: []filter.Filter{{Field: "x", Operator: "=", Value: json.RawMessage(`1`)}}}
	seg, err := st.Create(ctx, "p", "t", def)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SegmentWritten(ctx, "p", seg); err != nil {
		t.Fatal(err)
	}
	waitFeed(1)
	want(1, "a create, then its event")
	if n, _ := h.Count(ctx, "p", seg.ID); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	name := "renamed"
	seg, err = st.Update(ctx, "p", seg.ID, store.SegmentUpdate{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	waitFeed(1) // the event first
	want(1, "an update's event")
	if err := h.SegmentWritten(ctx, "p", seg); err != nil {
		t.Fatal(err)
	}
	want(0, "an update, after its event")
	seg, err = st.Delete(ctx, "p", seg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SegmentWritten(ctx, "p", seg); err != nil {
		t.Fatal(err)
	}
	waitFeed(1)
	want(1, "a delete, then its event")
	// Elsewhere: the feed alone.
	other, err := st.Create(ctx, "p", "t", def)
	if err != nil {
		t.Fatal(err)
	}
	waitFeed(1)
	want(1, "a write made elsewhere")
	if n, err := p.ix.Count(other.ID); err != nil || n != 1 {
		t.Fatalf("the segment written elsewhere: %d, %v", n, err)
	}
}
