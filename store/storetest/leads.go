package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/segmatch/segmatch/store"
)

// leadDoc is a lead document for the suite.
func leadDoc(id string, n int) []byte {
	return fmt.Appendf(nil, `{"_id":%q,"n":%d,"s":"\u0000é"}`, id, n)
}

// allLeads reads a project's leads in order, as id=document.
func allLeads(t *testing.T, s store.Store, project string) []string {
	t.Helper()
	var out []string
	err := s.ForEachLead(t.Context(), project, func(id string, raw []byte) error {
		out = append(out, id+"="+string(raw))
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachLead(%s): %v", project, err)
	}
	return out
}

func putLeads(t *testing.T, s store.Store, project string, leads ...store.Lead) {
	t.Helper()
	if err := s.PutLeads(t.Context(), project, leads); err != nil {
		t.Fatalf("PutLeads(%s): %v", project, err)
	}
}

func lead(id string, n int) store.Lead { return store.Lead{ID: id, Raw: leadDoc(id, n)} }

func want(ids ...string) []string { return ids }

func entry(id string, n int) string { return id + "=" + string(leadDoc(id, n)) }

func sameLeads(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// testLeads: put, replace (keeps its place), delete, put again (last),
// batches with a repeated id (the later wins), documents byte for byte.
func testLeads(t *testing.T, _ Harness, s store.Store) {
	sameLeads(t, "empty project", allLeads(t, s, ProjectA), nil)
	putLeads(t, s, ProjectA, lead("b", 1))
	putLeads(t, s, ProjectA, lead("a", 1), lead("c", 1), lead("a", 2))
	sameLeads(t, "after puts", allLeads(t, s, ProjectA), want(entry("b", 1), entry("a", 2), entry("c", 1)))
	putLeads(t, s, ProjectA, lead("b", 3))
	sameLeads(t, "a replaced lead keeps its place", allLeads(t, s, ProjectA), want(entry("b", 3), entry("a", 2), entry("c", 1)))
	if err := s.DeleteLead(t.Context(), ProjectA, "b"); err != nil {
		t.Fatal(err)
	}
	sameLeads(t, "after delete", allLeads(t, s, ProjectA), want(entry("a", 2), entry("c", 1)))
	err := s.DeleteLead(t.Context(), ProjectA, "b")
	wantErr(t, "deleting a deleted lead", err, store.ErrLeadNotFound)
	wantErr(t, "ErrLeadNotFound is an ErrNotFound", err, store.ErrNotFound)
	putLeads(t, s, ProjectA, lead("b", 4))
	sameLeads(t, "stored again: last", allLeads(t, s, ProjectA), want(entry("a", 2), entry("c", 1), entry("b", 4)))
	if err := s.PutLeads(t.Context(), ProjectA, nil); err != nil {
		t.Fatalf("an empty batch: %v", err)
	}
	// fn's error stops the walk and is returned.
	stop := errors.New("stop")
	calls := 0
	err = s.ForEachLead(t.Context(), ProjectA, func(string, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ForEachLead with a failing fn: %v after %d calls", err, calls)
	}
	// A large document and an id of every allowed size.
	big := store.Lead{ID: strings.Repeat("é", store.MaxLeadIDLen/2), Raw: []byte(`{"x":"` + strings.Repeat("y", 300<<10) + `"}`)}
	putLeads(t, s, ProjectB, big)
	got := allLeads(t, s, ProjectB)
	if len(got) != 1 || got[0] != big.ID+"="+string(big.Raw) {
		t.Fatalf("a 300 KiB lead did not come back as stored")
	}
}

func testLeadsInvalid(t *testing.T, _ Harness, s store.Store) {
	for name, l := range map[string]store.Lead{
		"empty id":    {ID: "", Raw: []byte(`{}`)},
		"long id":     {ID: strings.Repeat("x", store.MaxLeadIDLen+1), Raw: []byte(`{}`)},
		"non-UTF-8":   {ID: "a\xff", Raw: []byte(`{}`)},
		"no document": {ID: "a", Raw: nil},
	} {
		err := s.PutLeads(t.Context(), ProjectA, []store.Lead{lead("ok", 1), l})
		wantErr(t, name, err, store.ErrInvalid)
	}
	var ie *store.LeadIDError
	if err := s.PutLeads(t.Context(), ProjectA, []store.Lead{{ID: "", Raw: []byte(`{}`)}}); !errors.As(err, &ie) {
		t.Fatalf("empty id: %v, want a *store.LeadIDError", err)
	}
	err := s.PutLeads(t.Context(), "", []store.Lead{lead("a", 1)})
	wantErr(t, "empty project", err, store.ErrInvalid)
	sameLeads(t, "a refused batch writes nothing", allLeads(t, s, ProjectA), nil)
	err = s.DeleteLead(t.Context(), ProjectA, "nobody")
	wantErr(t, "deleting an unknown lead", err, store.ErrLeadNotFound)
	err = s.DeleteLead(t.Context(), ProjectA, "")
	wantErr(t, "deleting an empty id", err, store.ErrLeadNotFound)
	ps, err := s.LeadProjects(t.Context())
	if err != nil || len(ps) != 0 {
		t.Fatalf("LeadProjects of an empty store: %v, %v", ps, err)
	}
}

// testLeadsIsolation: the same ids in two projects are two leads.
func testLeadsIsolation(t *testing.T, _ Harness, s store.Store) {
	putLeads(t, s, ProjectA, lead("x", 1), lead("only-a", 1))
	putLeads(t, s, ProjectB, lead("x", 2))
	sameLeads(t, "A", allLeads(t, s, ProjectA), want(entry("x", 1), entry("only-a", 1)))
	sameLeads(t, "B", allLeads(t, s, ProjectB), want(entry("x", 2)))
	err := s.DeleteLead(t.Context(), ProjectB, "only-a")
	wantErr(t, "deleting another project's lead", err, store.ErrLeadNotFound)
	if err := s.DeleteLead(t.Context(), ProjectB, "x"); err != nil {
		t.Fatal(err)
	}
	sameLeads(t, "A after B's delete", allLeads(t, s, ProjectA), want(entry("x", 1), entry("only-a", 1)))
	ps, err := s.LeadProjects(t.Context())
	if err != nil || !slices.Equal(ps, []string{ProjectA}) {
		t.Fatalf("LeadProjects = %v, %v; want only %s (B's last lead was deleted)", ps, err, ProjectA)
	}
	// Segments and leads do not meet.
	if segs := listAll(t, s, ProjectA); len(segs) != 0 {
		t.Fatalf("leads show up as segments: %v", segs)
	}
}

// testLeadsConcurrent: writers of their own leads, beside readers;
// nothing lost, each writer's order kept.
func testLeadsConcurrent(t *testing.T, _ Harness, s store.Store) {
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%03d", w, i)
				if err := s.PutLeads(t.Context(), ProjectA, []store.Lead{lead(id, i)}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 5 {
				if err := s.ForEachLead(t.Context(), ProjectA, func(string, []byte) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := allLeads(t, s, ProjectA)
	if len(got) != writers*each {
		t.Fatalf("%d leads, want %d", len(got), writers*each)
	}
	last := map[string]string{}
	for _, e := range got {
		id, _, _ := strings.Cut(e, "=")
		w, _, _ := strings.Cut(id, "-")
		if id <= last[w] {
			t.Fatalf("writer %s: %s after %s: the order of first stores is lost", w, id, last[w])
		}
		last[w] = id
	}
}

func testLeadsReopen(t *testing.T, h Harness, s store.Store) {
	if h.Reopen == nil {
		t.Skip("the store does not persist")
	}
	putLeads(t, s, ProjectA, lead("c", 1), lead("a", 1), lead("b", 1))
	putLeads(t, s, ProjectA, lead("c", 2))
	putLeads(t, s, ProjectB, lead("z", 1))
	if err := s.DeleteLead(t.Context(), ProjectA, "a"); err != nil {
		t.Fatal(err)
	}
	before := allLeads(t, s, ProjectA)
	s = h.Reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	sameLeads(t, "A after reopen", allLeads(t, s, ProjectA), before)
	sameLeads(t, "B after reopen", allLeads(t, s, ProjectB), want(entry("z", 1)))
	// Places carry on after the reopen: a new lead comes last.
	putLeads(t, s, ProjectA, lead("a", 5))
	sameLeads(t, "a new lead after reopen", allLeads(t, s, ProjectA), append(before, entry("a", 5)))
	ps, err := s.LeadProjects(t.Context())
	if err != nil || !slices.Equal(ps, []string{ProjectA, ProjectB}) {
		t.Fatalf("LeadProjects after reopen = %v, %v", ps, err)
	}
}

func testLeadsClose(t *testing.T, _ Harness, s store.Store) {
	putLeads(t, s, ProjectA, lead("a", 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "PutLeads after Close", s.PutLeads(t.Context(), ProjectA, []store.Lead{lead("b", 1)}), store.ErrClosed)
	wantErr(t, "DeleteLead after Close", s.DeleteLead(t.Context(), ProjectA, "a"), store.ErrClosed)
	wantErr(t, "ForEachLead after Close", s.ForEachLead(t.Context(), ProjectA, func(string, []byte) error { return nil }), store.ErrClosed)
	_, err := s.LeadProjects(t.Context())
	wantErr(t, "LeadProjects after Close", err, store.ErrClosed)
}
