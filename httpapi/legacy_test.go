package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// legacyStore holds, beside what it stores, one segment written before
// the bounds of issue 12 (a regex program they refuse now), as a data
// file from an older server would.
type legacyStore struct {
	store.Store
	legacy filter.Segment
}

func (s legacyStore) Get(ctx context.Context, project, id string) (filter.Segment, error) {
	if project == s.legacy.IDProject && id == s.legacy.ID {
		return s.legacy, nil
	}
	return s.Store.Get(ctx, project, id)
}

func (s legacyStore) List(ctx context.Context, project string, opts store.ListOptions) ([]filter.Segment, int, error) {
	segs, n, err := s.Store.List(ctx, project, opts)
	if err != nil || project != s.legacy.IDProject {
		return segs, n, err
	}
	if opts.Page == 0 {
		segs = append([]filter.Segment{s.legacy}, segs...)
	}
	return segs, n + 1, nil
}

// TestStoredSegmentBeyondBounds: one stored segment that no longer
// compiles does not take the project's classify down; /match on it is a
// 422 saying what to do, not a 500.
func TestStoredSegmentBeyondBounds(t *testing.T) {
	legacy := filter.Segment{ID: "65f1c0ffee0000000000dead", Name: "old", IDProject: p1, Status: filter.StatusActive,
		Filters: []filter.Filter{{Field: "note", Operator: "regex", Value: json.RawMessage(`"` + strings.Repeat("[^x]{999}", 100) + `"`)}}}
	f := newFixture(t, legacyStore{Store: memory.New(), legacy: legacy}, "/v3")
	id := f.create(seg1)
	r := f.as(agent, "POST", segPath(p1, "classify"), `[{"field1":"value1"}]`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Contains(t, r.raw, id)
	assert.NotContains(t, r.raw, legacy.ID)
	m := f.as(agent, "POST", segPath(p1, legacy.ID, "match"), `{"note":"x"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, m.status, m.raw)
	assert.Contains(t, m.json["msg"], "update it")
	assert.Contains(t, f.logs.String(), "no longer compile")

	// EngineBuild alone: the others are classified.
	c, err := httpapi.EngineBuild([]filter.Segment{legacy, {ID: "ok", Filters: []filter.Filter{filter.Cond("a", "eq", 1)}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"ok"}, c.ClassifyMap(map[string]any{"a": 1.0}))
}

// TestMatchCompilerPanicIs500: a compile failure without a located
// problem (a compiler panic the keeper recovered) is ours, a 500, not the
// 422 asking the caller to update the segment.
func TestMatchCompilerPanicIs500(t *testing.T) {
	var armed atomic.Bool
	compile := func(seg filter.Segment) (*segmatch.Program, error) {
		if armed.Load() {
			panic("compiler bug")
		}
		return segmatch.Compile(seg)
	}
	f, _ := newKeeperFixture(t, memory.New(), httpapi.EngineBuild, compile)
	id := f.create(seg1)
	armed.Store(true)
	// A new version, so the kept program of the old one is not used.
	r := f.as(agent, "PUT", segPath(p1, id), `{"name":"segment1b"}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	m := f.as(agent, "POST", segPath(p1, id, "match"), `{"field1":"value1"}`)
	assert.Equal(t, http.StatusInternalServerError, m.status, m.raw)
}
