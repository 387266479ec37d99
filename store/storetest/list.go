package storetest

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

func ids(segs []filter.Segment) []string {
	out := make([]string, len(segs))
	for i := range segs {
		out[i] = segs[i].ID
	}
	return out
}

func testList(t *testing.T, _ Harness, s store.Store) {
	// Empty project: an empty, non-nil page.
	segs, n, err := s.List(t.Context(), ProjectA, store.ListOptions{})
	if err != nil || n != 0 || segs == nil || len(segs) != 0 {
		t.Fatalf("empty List = %v, %d, %v; want [], 0, nil", segs, n, err)
	}

	var created []string
	for _, name := range []string{"b", "a", "c", "a", "b", "d", "a"} {
		created = append(created, mustCreate(t, s, ProjectA, name).ID)
	}
	mustCreate(t, s, ProjectB, "other project")
	newest := slices.Clone(created)
	slices.Reverse(newest)

	// Defaults (Tiledesk's): newest first by createdAt, 40 per page.
	segs, n, err = s.List(t.Context(), ProjectA, store.ListOptions{})
	if err != nil || n != 7 {
		t.Fatalf("List = %d, %v", n, err)
	}
	if got := ids(segs); !slices.Equal(got, newest) {
		t.Fatalf("default order %v, want newest first %v", got, newest)
	}

	// Pages cover the list exactly once, whatever the limit.
	for _, limit := range []int{1, 2, 3, 6, 7, 8, store.MaxLimit} {
		var all []string
		for page := 0; ; page++ {
			segs, n, err := s.List(t.Context(), ProjectA, store.ListOptions{Limit: limit, Page: page, Direction: store.Ascending})
			if err != nil || n != 7 {
				t.Fatalf("limit %d page %d: count %d, %v", limit, page, n, err)
			}
			if len(segs) > limit {
				t.Fatalf("limit %d page %d: %d segments", limit, page, len(segs))
			}
			if len(segs) == 0 {
				if want := (7 + limit - 1) / limit; page != want {
					t.Fatalf("limit %d: empty page %d, want first empty page %d", limit, page, want)
				}
				break
			}
			all = append(all, ids(segs)...)
		}
		if !slices.Equal(all, created) {
			t.Fatalf("limit %d: pages gave %v, want %v", limit, all, created)
		}
	}

	// Far past the end: empty, with the count.
	for _, page := range []int{100, math.MaxInt32, math.MaxInt} {
		segs, n, err := s.List(t.Context(), ProjectA, store.ListOptions{Limit: store.MaxLimit, Page: page})
		if err != nil || n != 7 || len(segs) != 0 || segs == nil {
			t.Fatalf("page %d: %v, %d, %v; want [], 7, nil", page, segs, n, err)
		}
	}

	// Deleted segments leave the list and the count.
	if _, err := s.Delete(t.Context(), ProjectA, created[2]); err != nil {
		t.Fatal(err)
	}
	segs, n, err = s.List(t.Context(), ProjectA, store.ListOptions{Limit: 2})
	if err != nil || n != 6 || len(segs) != 2 {
		t.Fatalf("after delete: %d segments, count %d, %v", len(segs), n, err)
	}
	for _, seg := range listAll(t, s, ProjectA) {
		if seg.ID == created[2] {
			t.Fatal("deleted segment listed")
		}
	}
}

func testListSort(t *testing.T, _ Harness, s store.Store) {
	names := []string{"b", "a", "c", "a", "B", "d", "a", "é", ""}
	var created []filter.Segment
	for _, name := range names {
		if name == "" {
			continue
		}
		created = append(created, mustCreate(t, s, ProjectA, name))
	}
	list := func(sort string, dir int) []filter.Segment {
		segs, n, err := s.List(t.Context(), ProjectA, store.ListOptions{Limit: store.MaxLimit, Sort: sort, Direction: dir})
		if err != nil || n != len(created) {
			t.Fatalf("List(%s, %d): count %d, %v", sort, dir, n, err)
		}
		return segs
	}

	// name: byte-wise, ties by id in the same direction.
	asc := list(store.SortName, store.Ascending)
	want := slices.Clone(created)
	slices.SortStableFunc(want, func(a, b filter.Segment) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	if !slices.Equal(ids(asc), ids(want)) {
		t.Fatalf("name ascending: %v, want %v", ids(asc), ids(want))
	}
	desc := list(store.SortName, store.Descending)
	slices.Reverse(want)
	if !slices.Equal(ids(desc), ids(want)) {
		t.Fatalf("name descending is not the reverse of ascending: %v", ids(desc))
	}

	// A page boundary inside a run of equal names neither skips nor
	// repeats (the id tie-break makes the order total).
	var paged []string
	for page := 0; page < len(created); page++ {
		segs, _, err := s.List(t.Context(), ProjectA, store.ListOptions{Limit: 1, Page: page, Sort: store.SortName, Direction: store.Ascending})
		if err != nil || len(segs) != 1 {
			t.Fatalf("page %d: %v, %v", page, segs, err)
		}
		paged = append(paged, segs[0].ID)
	}
	if !slices.Equal(paged, ids(asc)) {
		t.Fatalf("one per page: %v, want %v", paged, ids(asc))
	}

	// updatedAt: the order of the updates.
	order := []int{3, 0, 6, 1}
	for _, i := range order {
		time.Sleep(2 * time.Millisecond) // updatedAt has millisecond precision
		if _, err := s.Update(t.Context(), ProjectA, created[i].ID, store.SegmentUpdate{Name: ptr("touched")}); err != nil {
			t.Fatal(err)
		}
	}
	byUpdate := ids(list(store.SortUpdatedAt, store.Descending))
	for k, i := range order {
		if byUpdate[len(order)-1-k] != created[i].ID {
			t.Fatalf("updatedAt descending %v: want the updated ones first, latest first (%v)", byUpdate, order)
		}
	}
	// createdAt: creation order; descending is its exact reverse.
	ca := ids(list(store.SortCreatedAt, store.Ascending))
	if !slices.Equal(ca, ids(created)) {
		t.Fatalf("createdAt ascending %v, want creation order %v", ca, ids(created))
	}
	cd := ids(list(store.SortCreatedAt, store.Descending))
	slices.Reverse(cd)
	if !slices.Equal(cd, ca) {
		t.Fatalf("createdAt descending is not the reverse of ascending")
	}
}

func testListInvalid(t *testing.T, _ Harness, s store.Store) {
	mustCreate(t, s, ProjectA, "a")
	cases := []struct {
		opts  store.ListOptions
		param string
	}{
		{store.ListOptions{Limit: store.MaxLimit + 1}, "limit"},
		{store.ListOptions{Limit: -1}, "limit"},
		{store.ListOptions{Page: -1}, "page"},
		{store.ListOptions{Sort: "status"}, "sort"},
		{store.ListOptions{Sort: "createdat"}, "sort"},
		{store.ListOptions{Direction: 2}, "direction"},
		{store.ListOptions{Direction: -2}, "direction"},
	}
	for _, tc := range cases {
		segs, _, err := s.List(t.Context(), ProjectA, tc.opts)
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("List(%+v) = %d segments, %v; want ErrInvalid", tc.opts, len(segs), err)
			continue
		}
		var pe *store.ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("List(%+v): %v, want a *store.ParamError for %s", tc.opts, err, tc.param)
		}
	}
	if _, _, err := s.List(t.Context(), "", store.ListOptions{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("List with no project: %v, want ErrInvalid", err)
	}
}
