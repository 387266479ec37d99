package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/memory"
)

// faultyLeads is a memory store whose lead calls fail on demand.
type faultyLeads struct {
	*memory.Store
	failLoad  atomic.Bool
	failPutAt atomic.Int64 // PutLeads calls from this one (from 1) fail
	puts      atomic.Int64
}

var errDisk = errors.New("disk on fire at /var/secret")

func (s *faultyLeads) ForEachLead(ctx context.Context, project string, fn func(string, []byte) error) error {
	if s.failLoad.Load() {
		return errDisk
	}
	return s.Store.ForEachLead(ctx, project, fn)
}

func (s *faultyLeads) PutLeads(ctx context.Context, project string, ls []store.Lead) error {
	if n := s.puts.Add(1); s.failPutAt.Load() > 0 && n >= s.failPutAt.Load() {
		return errDisk
	}
	return s.Store.PutLeads(ctx, project, ls)
}

// TestLeadsLoadFailure: a project whose leads cannot be loaded answers
// 503 with Retry-After (the load is not retried before), no detail.
func TestLeadsLoadFailure(t *testing.T) {
	st := &faultyLeads{Store: memory.New()}
	st.failLoad.Store(true)
	f := newLeadFixture(t, st, leads.Limits{})
	for range 3 {
		r := f.do(req{method: "GET", path: leadPath(p1, "a"), user: agent})
		require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		assert.NotContains(t, r.raw, "disk on fire")
	}
}

// TestLeadsBulkStoreFailure: a store failing mid-request answers the
// failure (500, no detail) with what the lines before stopped_at did,
// the rejected ones listed; sending the lines from stopped_at on again
// completes the load.
func TestLeadsBulkStoreFailure(t *testing.T) {
	st := &faultyLeads{Store: memory.New()}
	f := newLeadFixture(t, st, leads.Limits{})
	seg := f.create(`{"name":"all","filters":[]}`)
	var lines []string
	for i := 1; i <= 1500; i++ {
		if i == 5 || i == 1200 {
			lines = append(lines, "{broken")
			continue
		}
		lines = append(lines, fmt.Sprintf(`{"_id":"l%04d"}`, i))
	}
	st.failPutAt.Store(2) // the second batch (from line 1002)
	r := f.bulk(agent, p1, strings.Join(lines, "\n"))
	require.Equal(t, http.StatusInternalServerError, r.status, r.raw)
	assert.NotContains(t, r.raw, "disk on fire")
	assert.EqualValues(t, 1000, r.json["accepted"])
	assert.EqualValues(t, 1, r.json["rejected"])
	require.EqualValues(t, 1002, r.json["stopped_at"], r.raw)
	errs := r.json["errors"].([]any)
	require.Len(t, errs, 2, r.raw)
	assert.EqualValues(t, 5, errs[0].(map[string]any)["line"])
	assert.EqualValues(t, 1002, errs[1].(map[string]any)["line"])
	assert.Contains(t, errs[1].(map[string]any)["message"], "no line from this one on was stored")
	assert.Equal(t, 1000, f.count(agent, p1, seg))

	st.failPutAt.Store(0)
	r = f.bulk(agent, p1, strings.Join(lines[1002-1:], "\n"))
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 498, r.json["accepted"])
	assert.EqualValues(t, 1, r.json["rejected"])
	assert.Equal(t, 1498, f.count(agent, p1, seg))
}

// TestLeadsBulkBytes: a bulk body over MaxBulkBytes is a 413 naming the
// limit, the lines before the one passing it applied.
func TestLeadsBulkBytes(t *testing.T) {
	f := newLeadFixture(t, newMemory(), leads.Limits{MaxBulkBytes: 1000})
	seg := f.create(`{"name":"all","filters":[]}`)
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, `{"_id":"l%04d"}`+"\n", i) // 16 bytes a line
	}
	r := f.bulk(agent, p1, b.String())
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status, r.raw)
	assert.Contains(t, r.json["msg"], "--max-bulk-bytes")
	assert.EqualValues(t, 62, r.json["accepted"]) // 62*16 = 992
	require.EqualValues(t, 63, r.json["stopped_at"], r.raw)
	errs := r.json["errors"].([]any)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].(map[string]any)["message"], "over 1000 bytes")
	assert.Equal(t, 62, f.count(agent, p1, seg))
}
