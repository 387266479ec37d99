package leads

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/store/memory"
)

// TestLoadRestart: a bulk load leaves the field paths the segments read
// indexed; a restart (a new hub over the store) registers the segments,
// then classifies the leads as it loads them, with no events, and gives
// every segment the members, counts and previews the hub it replaces
// gave, its paths indexed before the first query.
func TestLoadRestart(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	const project = "p1"
	cfg := benchmarks.Config{Segments: 30, Seed: 3}
	segs := benchmarks.GenerateSegments(cfg)
	var ids []string
	for i, s := range segs {
		s.ID, s.Name = "", fmt.Sprintf("seg-%02d", i)
		got, err := st.Create(ctx, project, "test", s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.ID)
	}
	lim := Limits{MaxBulkLeads: -1, MaxProjectLeads: -1}
	h1 := New(st, lim, nil)
	if _, err := h1.Stats(ctx, project); err != nil { // loaded, segments registered
		t.Fatal(err)
	}
	rep, err := h1.Bulk(ctx, project, benchmarks.NewContactReader(cfg, 3000), nil)
	if err != nil || rep.Rejected != 0 {
		t.Fatalf("bulk: %+v %v", rep, err)
	}
	s1, err := h1.Stats(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Index.IndexedPaths == 0 {
		t.Fatalf("no path indexed after a bulk load: %+v", s1.Index)
	}
	type answer struct {
		count   int
		members []string
		preview []string
	}
	answers := func(h *Hub) []answer {
		var out []answer
		for i, id := range ids {
			n, err := h.Count(ctx, project, id)
			if err != nil {
				t.Fatal(err)
			}
			m, err := h.Members(ctx, project, id, 5, 20)
			if err != nil {
				t.Fatal(err)
			}
			seg := segs[i]
			seg.ID, seg.Name = "", "preview"
			pv, err := h.Preview(ctx, project, seg, 50)
			if err != nil {
				t.Fatal(err)
			}
			if pv.Count != n {
				t.Errorf("segment %d: preview counts %d, the registered segment %d", i, pv.Count, n)
			}
			out = append(out, answer{n, m.IDs, pv.IDs})
		}
		return out
	}
	want := answers(h1)
	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}

	h2 := New(st, lim, nil)
	defer h2.Close()
	if err := h2.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	p := h2.loaded(project)
	if p == nil {
		t.Fatal("not loaded")
	}
	p.ev.mu.Lock()
	published := p.ev.next - 1
	p.ev.mu.Unlock()
	if published != 0 {
		t.Errorf("the load published %d events, want none", published)
	}
	s2, err := h2.Stats(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Leads != s1.Leads || s2.Segments != s1.Segments || s2.Index.IndexedPaths == 0 {
		t.Errorf("restarted: %+v, want the leads and segments of %+v and paths indexed", s2, s1)
	}
	got := answers(h2)
	for i := range want {
		if got[i].count != want[i].count || !slices.Equal(got[i].members, want[i].members) || !slices.Equal(got[i].preview, want[i].preview) {
			t.Errorf("segment %d after the restart: %+v, want %+v", i, got[i], want[i])
		}
	}
	nonEmpty := 0
	for _, a := range want {
		if a.count > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(want)/3 {
		t.Fatalf("only %d of %d segments hold leads: the test proves little", nonEmpty, len(want))
	}
}
