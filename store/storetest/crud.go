package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

func testCreate(t *testing.T, _ Harness, s store.Store) {
	before := store.Timestamp(time.Now())
	in := vip("Italian VIPs")
	// Fields the store assigns are ignored on input.
	in.ID = "65f1c0ffee0000000000a001"
	in.IDProject = ProjectB
	in.CreatedBy = "spoofed"
	in.CreatedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	in.Status = filter.StatusDeleted
	got, err := s.Create(t.Context(), ProjectA, UserA, in)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if !store.ValidID(got.ID) || got.ID == in.ID {
		t.Errorf("id %q: want a new 24-hex id", got.ID)
	}
	if got.IDProject != ProjectA || got.CreatedBy != UserA || got.Status != filter.StatusActive {
		t.Errorf("id_project %q createdBy %q status %d", got.IDProject, got.CreatedBy, got.Status)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("createdAt %v updatedAt %v, want both in [%v, %v]", got.CreatedAt, got.UpdatedAt, before, after)
	}
	if !got.CreatedAt.Equal(store.Timestamp(got.CreatedAt)) {
		t.Errorf("createdAt %v is not at millisecond precision", got.CreatedAt)
	}
	if got.Name != in.Name || got.Match != filter.All || filtersJSON(t, got.Filters) != filtersJSON(t, in.Filters) {
		t.Errorf("definition changed: %+v", got)
	}
	sameSegment(t, "Get after Create", mustGet(t, s, ProjectA, got.ID), got)

	// The wire format carries everything the store returns.
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	back, err := filter.DecodeSegment(raw)
	if err != nil {
		t.Fatal(err)
	}
	sameSegment(t, "JSON round trip", back, got)

	// Returned segments are copies.
	got.Name = "changed"
	got.Filters[0].Value[1] = 'X'
	got.Filters[2].Filters[0].Field = "changed"
	if again := mustGet(t, s, ProjectA, got.ID); again.Name != in.Name || filtersJSON(t, again.Filters) != filtersJSON(t, in.Filters) {
		t.Errorf("modifying a returned segment changed the store: %+v", again)
	}

	// Match defaults to all; an empty filter list is valid (matches all).
	empty, err := s.Create(t.Context(), ProjectA, UserA, filter.Segment{Name: "everyone"})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Match != filter.All || empty.Filters == nil || len(empty.Filters) != 0 {
		t.Errorf("empty segment stored as match %q filters %#v", empty.Match, empty.Filters)
	}

	// Ids are unique, increasing in creation order, and carry the time.
	prev := empty.ID
	for i := 0; i < 50; i++ {
		seg := mustCreate(t, s, ProjectA, "n")
		if seg.ID <= prev {
			t.Fatalf("id %s not after %s", seg.ID, prev)
		}
		prev = seg.ID
		if it := store.IDTime(seg.ID); it.Before(before.Truncate(time.Second)) || it.After(time.Now()) {
			t.Fatalf("id %s carries time %v", seg.ID, it)
		}
	}
	if segs := listAll(t, s, ProjectA); len(segs) != 52 {
		t.Fatalf("%d segments listed, want 52", len(segs))
	}
}

func testCreateInvalid(t *testing.T, _ Harness, s store.Store) {
	cases := []struct {
		name  string
		seg   filter.Segment
		paths []string
		is    error
	}{
		{"unknown operator", Seg("x", filter.All, filter.Cond("a", "frobnicate", 1)),
			[]string{"/filters/0/operator"}, segmatch.ErrUnknownOperator},
		{"every problem", Seg("x", filter.All,
			filter.Cond("a", "nope", 1),
			filter.Cond("b", "=", 1),
			filter.Group(filter.Any, filter.Cond("c", "regex", "(")),
		), []string{"/filters/0/operator", "/filters/2/filters/0/value"}, segmatch.ErrUnknownOperator},
		{"no name", Seg("", filter.All), []string{"/name"}, segmatch.ErrBadShape},
		{"bad match", Seg("x", "some"), []string{"/match"}, segmatch.ErrBadMatch},
		{"bad field", Seg("x", filter.All, filter.Cond("a..b", "=", 1)), []string{"/filters/0/field"}, segmatch.ErrBadField},
	}
	for _, tc := range cases {
		_, err := s.Create(t.Context(), ProjectA, UserA, tc.seg)
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
			continue
		}
		var ce *segmatch.CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%s: no *segmatch.CompileError in %v", tc.name, err)
			continue
		}
		if !errors.Is(err, tc.is) {
			t.Errorf("%s: err = %v, want it to wrap %v", tc.name, err, tc.is)
		}
		var paths []string
		for _, p := range store.Problems(err) {
			paths = append(paths, p.Path)
		}
		if len(paths) != len(tc.paths) {
			t.Errorf("%s: problems at %q, want %q", tc.name, paths, tc.paths)
			continue
		}
		for i := range paths {
			if paths[i] != tc.paths[i] {
				t.Errorf("%s: problems at %q, want %q", tc.name, paths, tc.paths)
			}
		}
	}
	if _, n, err := s.List(t.Context(), ProjectA, store.ListOptions{}); err != nil || n != 0 {
		t.Fatalf("after invalid creates: count %d, err %v; want nothing stored", n, err)
	}
	_, err := s.Create(t.Context(), "", UserA, vip("x"))
	wantErr(t, "Create with no project", err, store.ErrInvalid)
}

func testGetNotFound(t *testing.T, _ Harness, s store.Store) {
	a := mustCreate(t, s, ProjectA, "a")
	for _, id := range []string{"65f1c0ffee0000000000a001", "nope", "", a.ID + "0", "../" + a.ID} {
		_, err := s.Get(t.Context(), ProjectA, id)
		wantErr(t, "Get("+id+")", err, store.ErrNotFound)
	}
	_, err := s.Get(t.Context(), ProjectB, a.ID)
	wantErr(t, "Get from another project", err, store.ErrNotFound)
	if _, err := s.Delete(t.Context(), ProjectA, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(t.Context(), ProjectA, a.ID)
	wantErr(t, "Get deleted", err, store.ErrNotFound)
}

func testProjectIsolation(t *testing.T, _ Harness, s store.Store) {
	a := mustCreate(t, s, ProjectA, "a")
	b := mustCreate(t, s, ProjectB, "b")
	ch, err := s.Watch(t.Context(), ProjectB)
	if err != nil {
		t.Fatal(err)
	}

	_, err = s.Get(t.Context(), ProjectB, a.ID)
	wantErr(t, "Get A's segment from B", err, store.ErrNotFound)
	_, err = s.Update(t.Context(), ProjectB, a.ID, store.SegmentUpdate{Name: ptr("hijacked")})
	wantErr(t, "Update A's segment from B", err, store.ErrNotFound)
	_, err = s.Delete(t.Context(), ProjectB, a.ID)
	wantErr(t, "Delete A's segment from B", err, store.ErrNotFound)
	sameSegment(t, "A's segment after B's attempts", mustGet(t, s, ProjectA, a.ID), a)

	if segs := listAll(t, s, ProjectB); len(segs) != 1 || segs[0].ID != b.ID {
		t.Fatalf("List(B) = %v, want only %s", segs, b.ID)
	}
	if segs := listAll(t, s, ProjectA); len(segs) != 1 || segs[0].ID != a.ID {
		t.Fatalf("List(A) = %v, want only %s", segs, a.ID)
	}

	// B's watcher sees B's changes only.
	mustCreate(t, s, ProjectA, "a2")
	if _, err := s.Update(t.Context(), ProjectA, a.ID, store.SegmentUpdate{Name: ptr("a!")}); err != nil {
		t.Fatal(err)
	}
	b2 := mustCreate(t, s, ProjectB, "b2")
	if ev := recv(t, ch); ev.Project != ProjectB || ev.Segment.ID != b2.ID {
		t.Fatalf("B's watcher got %v %s/%s, want B's create of %s", ev.Type, ev.Project, ev.Segment.ID, b2.ID)
	}
}

func testUpdate(t *testing.T, _ Harness, s store.Store) {
	orig := mustCreate(t, s, ProjectA, "orig")
	cur := orig
	check := func(what string, got filter.Segment, prev filter.Segment) {
		t.Helper()
		if got.ID != orig.ID || got.IDProject != orig.IDProject || got.CreatedBy != orig.CreatedBy ||
			!got.CreatedAt.Equal(orig.CreatedAt) || got.Status != filter.StatusActive {
			t.Fatalf("%s changed identity fields: %+v", what, got)
		}
		if !got.UpdatedAt.After(prev.UpdatedAt) {
			t.Fatalf("%s: updatedAt %v not after %v", what, got.UpdatedAt, prev.UpdatedAt)
		}
		sameSegment(t, what+": Get", mustGet(t, s, ProjectA, orig.ID), got)
	}

	got, err := s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{Name: ptr("renamed")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || got.Match != orig.Match || filtersJSON(t, got.Filters) != filtersJSON(t, orig.Filters) {
		t.Fatalf("name-only update: %+v", got)
	}
	check("name", got, cur)
	cur = got

	got, err = s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{Match: ptr(filter.Any)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || got.Match != filter.Any || filtersJSON(t, got.Filters) != filtersJSON(t, orig.Filters) {
		t.Fatalf("match-only update: %+v", got)
	}
	check("match", got, cur)
	cur = got

	fs := []filter.Filter{filter.Cond("city", "in", []string{"Rome", "Milan"})}
	got, err = s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{Filters: &fs})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || got.Match != filter.Any || filtersJSON(t, got.Filters) != filtersJSON(t, fs) {
		t.Fatalf("filters-only update: %+v", got)
	}
	check("filters", got, cur)
	cur = got

	got, err = s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{Filters: &[]filter.Filter{}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Filters == nil || len(got.Filters) != 0 {
		t.Fatalf("clearing filters: %#v", got.Filters)
	}
	check("clear filters", got, cur)
	cur = got

	// UpdatedAt moves strictly forward even for writes within one
	// millisecond, so it identifies a version.
	for i := 0; i < 20; i++ {
		got, err = s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{Name: ptr("fast")})
		if err != nil {
			t.Fatal(err)
		}
		if !got.UpdatedAt.After(cur.UpdatedAt) {
			t.Fatalf("rapid update %d: updatedAt %v not after %v", i, got.UpdatedAt, cur.UpdatedAt)
		}
		cur = got
	}

	// An update that sets nothing changes nothing.
	got, err = s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{})
	if err != nil {
		t.Fatal(err)
	}
	sameSegment(t, "empty update", got, cur)

	// No upsert.
	missing := "65f1c0ffee0000000000a0ff"
	_, err = s.Update(t.Context(), ProjectA, missing, store.SegmentUpdate{Name: ptr("x")})
	wantErr(t, "Update unknown", err, store.ErrNotFound)
	_, err = s.Get(t.Context(), ProjectA, missing)
	wantErr(t, "Get after Update unknown", err, store.ErrNotFound)
	if n := len(listAll(t, s, ProjectA)); n != 1 {
		t.Fatalf("%d segments after updating an unknown id, want 1", n)
	}

	if _, err := s.Delete(t.Context(), ProjectA, orig.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(t.Context(), ProjectA, orig.ID, store.SegmentUpdate{Name: ptr("zombie")})
	wantErr(t, "Update deleted", err, store.ErrNotFound)
}

func testUpdateConflict(t *testing.T, _ Harness, s store.Store) {
	v1 := mustCreate(t, s, ProjectA, "v1")
	v2, err := s.Update(t.Context(), ProjectA, v1.ID, store.SegmentUpdate{Name: ptr("v2"), IfUpdatedAt: v1.UpdatedAt})
	if err != nil {
		t.Fatalf("update with a fresh precondition: %v", err)
	}
	// A second writer that read v1 loses.
	_, err = s.Update(t.Context(), ProjectA, v1.ID, store.SegmentUpdate{Name: ptr("lost"), IfUpdatedAt: v1.UpdatedAt})
	wantErr(t, "stale precondition", err, store.ErrConflict)
	_, err = s.Update(t.Context(), ProjectA, v1.ID, store.SegmentUpdate{IfUpdatedAt: v1.UpdatedAt})
	wantErr(t, "stale precondition on an empty update", err, store.ErrConflict)
	sameSegment(t, "after conflict", mustGet(t, s, ProjectA, v1.ID), v2)

	// The precondition is an instant: any time zone, as read from JSON.
	raw, _ := json.Marshal(v2)
	var wire filter.Segment
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	rome := time.FixedZone("CET", 3600)
	v3, err := s.Update(t.Context(), ProjectA, v1.ID, store.SegmentUpdate{Name: ptr("v3"), IfUpdatedAt: wire.UpdatedAt.In(rome)})
	if err != nil {
		t.Fatalf("precondition read from JSON, in another zone: %v", err)
	}
	if v3.Name != "v3" {
		t.Fatalf("name %q, want v3", v3.Name)
	}
	_, err = s.Update(t.Context(), ProjectA, v1.ID, store.SegmentUpdate{Name: ptr("x"), IfUpdatedAt: v3.UpdatedAt.Add(time.Millisecond)})
	wantErr(t, "future precondition", err, store.ErrConflict)

	if _, err := s.Delete(t.Context(), ProjectA, v1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(t.Context(), ProjectA, v1.ID, store.SegmentUpdate{Name: ptr("x"), IfUpdatedAt: v3.UpdatedAt})
	wantErr(t, "conditional update of a deleted segment", err, store.ErrNotFound)
}

func testUpdateInvalid(t *testing.T, _ Harness, s store.Store) {
	orig := mustCreate(t, s, ProjectA, "orig")
	bad := []filter.Filter{filter.Cond("a", "=", 1), filter.Cond("b", "between", []int{1})}
	cases := []struct {
		name string
		upd  store.SegmentUpdate
		path string
	}{
		{"bad filters", store.SegmentUpdate{Filters: &bad}, "/filters/1/value"},
		{"empty name", store.SegmentUpdate{Name: ptr("")}, "/name"},
		{"bad match", store.SegmentUpdate{Match: ptr(filter.Match("most"))}, "/match"},
	}
	for _, tc := range cases {
		_, err := s.Update(t.Context(), ProjectA, orig.ID, tc.upd)
		wantErr(t, tc.name, err, store.ErrInvalid)
		ps := store.Problems(err)
		if len(ps) == 0 || ps[0].Path != tc.path {
			t.Errorf("%s: problems %v, want one at %s", tc.name, ps, tc.path)
		}
		var ce *segmatch.CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%s: no *segmatch.CompileError in %v", tc.name, err)
		}
	}
	sameSegment(t, "after invalid updates", mustGet(t, s, ProjectA, orig.ID), orig)
}

func testDelete(t *testing.T, _ Harness, s store.Store) {
	a := mustCreate(t, s, ProjectA, "a")
	b := mustCreate(t, s, ProjectA, "b")
	del, err := s.Delete(t.Context(), ProjectA, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != a.ID || del.Status != filter.StatusDeleted || del.Name != a.Name || !del.UpdatedAt.After(a.UpdatedAt) {
		t.Fatalf("Delete returned %+v", del)
	}
	_, err = s.Get(t.Context(), ProjectA, a.ID)
	wantErr(t, "Get deleted", err, store.ErrNotFound)
	segs := listAll(t, s, ProjectA)
	if len(segs) != 1 || segs[0].ID != b.ID {
		t.Fatalf("List after delete: %v", segs)
	}

	again, err := s.Delete(t.Context(), ProjectA, a.ID)
	if err != nil {
		t.Fatalf("second Delete: %v (want idempotent)", err)
	}
	sameSegment(t, "second Delete", again, del)

	_, err = s.Delete(t.Context(), ProjectA, "65f1c0ffee0000000000a0ff")
	wantErr(t, "Delete unknown", err, store.ErrNotFound)
	_, err = s.Delete(t.Context(), ProjectA, "x")
	wantErr(t, "Delete malformed id", err, store.ErrNotFound)
	_, err = s.Delete(t.Context(), ProjectB, b.ID)
	wantErr(t, "Delete from another project", err, store.ErrNotFound)
	sameSegment(t, "b", mustGet(t, s, ProjectA, b.ID), b)
}

func testContext(t *testing.T, _ Harness, s store.Store) {
	a := mustCreate(t, s, ProjectA, "a")
	ctx, cancel := contextWithCancel(t)
	cancel()
	_, err := s.Create(ctx, ProjectA, UserA, vip("x"))
	wantErr(t, "Create", err, errCanceled)
	_, err = s.Get(ctx, ProjectA, a.ID)
	wantErr(t, "Get", err, errCanceled)
	_, _, err = s.List(ctx, ProjectA, store.ListOptions{})
	wantErr(t, "List", err, errCanceled)
	_, err = s.Update(ctx, ProjectA, a.ID, store.SegmentUpdate{Name: ptr("x")})
	wantErr(t, "Update", err, errCanceled)
	_, err = s.Delete(ctx, ProjectA, a.ID)
	wantErr(t, "Delete", err, errCanceled)
	_, err = s.Watch(ctx, ProjectA)
	wantErr(t, "Watch", err, errCanceled)
	sameSegment(t, "after canceled calls", mustGet(t, s, ProjectA, a.ID), a)
	if n := len(listAll(t, s, ProjectA)); n != 1 {
		t.Fatalf("%d segments, want 1", n)
	}
}
