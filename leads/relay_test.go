package leads

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/store"
)

// fakeBackend holds the leads written, and fails a write when told.
type fakeBackend struct {
	leads  map[string][]byte
	writes int
	failAt int // the write (1-based) that fails; 0: none
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
	assert.ErrorIs(t, r.Delete(ctx, "p", "nobody"), store.ErrLeadNotFound)
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
