package leads

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/store"
)

// fakeBackend holds the leads written, and fails a write when told.
type fakeBackend struct {
	leads  map[string][]byte
	writes int
	failAt int // the write (1-based) that fails; 0: none
	feed   *chanFeed
	after  uint64
}

func (f *fakeBackend) Check(doc []byte) error {
	if strings.Contains(string(doc), `"forbidden"`) {
		return errors.New("forbidden member")
	}
	return nil
}

func (f *fakeBackend) Write(_ context.Context, _ string, ls []store.Lead) error {
	f.writes++
	if f.writes == f.failAt {
		return errors.New("stream unavailable")
	}
	for _, l := range ls {
		if l.Raw == nil {
			delete(f.leads, l.ID)
		} else {
			f.leads[l.ID] = l.Raw
		}
	}
	return nil
}

func (f *fakeBackend) Lead(_ context.Context, _, id string) ([]byte, error) {
	if raw, ok := f.leads[id]; ok {
		return raw, nil
	}
	return nil, store.ErrLeadNotFound
}

func (f *fakeBackend) Count(context.Context, string, string) (int, error) { return len(f.leads), nil }

func (f *fakeBackend) Members(context.Context, string, string, int, int) (Page, error) {
	return Page{Count: len(f.leads)}, nil
}

// TestRelay: a relay checks leads as the hub does (plus the backend's
// Check), says whether a Put created the lead, refuses to delete an
// unknown one, and a bulk request whose backend write fails reports the
// first line not written.
func TestRelay(t *testing.T) {
	ctx := context.Background()
	b := &fakeBackend{leads: map[string][]byte{}}
	r := NewRelay(b, Limits{})
	res, err := r.Put(ctx, "p", "a", []byte(`{"x":1}`))
	require.NoError(t, err)
	assert.Equal(t, PutResult{ID: "a", Created: true}, res)
	assert.JSONEq(t, `{"_id":"a","x":1}`, string(b.leads["a"]))
	res, err = r.Put(ctx, "p", "a", []byte(`{"x":2}`))
	require.NoError(t, err)
	assert.False(t, res.Created)
	_, err = r.Put(ctx, "p", "b", []byte(`{"_id":"c"}`))
	assert.ErrorIs(t, err, ErrBadLead)
	_, err = r.Put(ctx, "p", "b", []byte(`{"forbidden":1}`))
	assert.ErrorIs(t, err, ErrBadLead)
	require.NoError(t, r.Delete(ctx, "p", "nobody"), "sent: a Put of it may be on its way")
	require.NoError(t, r.Delete(ctx, "p", "a"))
	assert.Empty(t, b.leads)

	rep, err := r.Bulk(ctx, "p", strings.NewReader(`{"_id":"1"}`+"\n"+`{"_id":"2","forbidden":1}`+"\n"+"nope\n"), nil)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Accepted)
	assert.Equal(t, 2, rep.Rejected)
	require.Len(t, rep.Errors, 2)
	assert.Equal(t, []int{2, 3}, []int{rep.Errors[0].Line, rep.Errors[1].Line})

	// A body of more than one batch, the second write failing: the
	// first batch is accepted, and the error names the first line of
	// the second.
	var body strings.Builder
	for i := range batchLeads + 10 {
		body.WriteString(`{"_id":"n` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `"}` + "\n")
	}
	b.writes, b.failAt = 0, 2
	rep, err = r.Bulk(ctx, "p", strings.NewReader(body.String()), nil)
	var be *BulkError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, batchLeads, rep.Accepted)
	assert.Equal(t, batchLeads+1, be.Line)
}

// chanFeed is a fake backend's event feed.
type chanFeed struct {
	ch     chan Event
	closed chan struct{}
}

func (f *chanFeed) Next(ctx context.Context) (Event, error) {
	select {
	case e := <-f.ch:
		return e, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

func (f *chanFeed) Close() { close(f.closed) }

func (f *fakeBackend) Events(_ context.Context, _ string, after uint64) (EventFeed, bool, error) {
	f.feed = &chanFeed{ch: make(chan Event, 16), closed: make(chan struct{})}
	f.after = after
	return f.feed, after == 99, nil
}

// TestRelayEvents: a relayed stream carries the backend's events in
// order (one segment's when asked) with resumable ids; an id of another
// kind, or one the backend no longer holds, resets; closing the stream
// stops its feed, and a slow client is waited for, not dropped.
func TestRelayEvents(t *testing.T) {
	ctx := context.Background()
	b := &fakeBackend{leads: map[string][]byte{}}
	r := NewRelay(b, Limits{StreamQueue: 2, MaxStreams: 1})
	s, err := r.Subscribe(ctx, "p", "s-41", "seg1")
	require.NoError(t, err)
	assert.False(t, s.Reset)
	assert.Equal(t, uint64(41), b.after)
	_, err = r.Subscribe(ctx, "p", "", "")
	assert.ErrorIs(t, err, ErrTooManyStreams)
	b.feed.ch <- Event{Seq: 42, Lead: "a", Segment: "seg1", Entered: true}
	b.feed.ch <- Event{Seq: 43, Lead: "a", Segment: "seg2", Entered: true}
	b.feed.ch <- Event{Seq: 44, Lead: "a", Segment: "seg1"}
	assert.Equal(t, Event{Seq: 42, Lead: "a", Segment: "seg1", Entered: true}, <-s.C())
	e := <-s.C()
	assert.Equal(t, uint64(44), e.Seq)
	assert.Equal(t, "s-44", r.EventID(e))
	feed := b.feed
	s.Close()
	<-feed.closed

	for _, id := range []string{"1-44", "s-x", "s-99"} {
		s, err = r.Subscribe(ctx, "p", id, "")
		require.NoError(t, err)
		assert.True(t, s.Reset, id)
		s.Close()
	}

	// A client slower than the events is waited for (the backend holds
	// them): more events than the queue of 2 all arrive, in order.
	s, err = r.Subscribe(ctx, "p", "", "")
	require.NoError(t, err)
	for i := range 6 {
		b.feed.ch <- Event{Seq: uint64(i + 1), Lead: "a", Segment: "seg1"}
	}
	time.Sleep(50 * time.Millisecond) // the pump is blocked on the full queue
	for i := range 6 {
		assert.Equal(t, uint64(i+1), (<-s.C()).Seq)
	}
	assert.False(t, s.Overflowed())
	feed = b.feed
	r.CloseStreams() // ends the stream: its channel closes, its feed too
	_, open := <-s.C()
	assert.False(t, open)
	<-feed.closed
	s, err = r.Subscribe(ctx, "p", "", "")
	require.NoError(t, err, "a relay keeps serving after CloseStreams")
	s.Close()
}
