// Package storetest is the conformance suite for store.Store
// implementations. Each implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{Open: ..., Reopen: ...})
//	}
//
// It covers the whole contract of store.Store: creation and validation,
// project isolation, not-found cases, paging and sorting, optimistic
// concurrency, soft deletes, the change feed and its slow-consumer
// policy, 100 goroutines of mixed operations with no lost update, the
// per-project limits (store.Limits, raced by concurrent writers), the
// leads (store.LeadStore: order, isolation, validation, concurrency) and,
// for persistent stores, close and reopen.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Harness tells the suite how to make stores.
type Harness struct {
	// Open returns a new, empty store. The suite closes it (closing twice
	// must be harmless).
	Open func(t *testing.T) store.Store
	// Reopen closes s and opens the same data again. Nil for stores that
	// do not persist; the reopen tests are then skipped.
	Reopen func(t *testing.T, s store.Store) store.Store
	// OpenLimited returns a new, empty store with the given limits
	// (store.Limits; zero fields take the defaults). Required.
	OpenLimited func(t *testing.T, l store.Limits) store.Store
	// ReopenLimited closes s and opens the same data again with limits
	// l. Nil for stores that do not persist.
	ReopenLimited func(t *testing.T, s store.Store, l store.Limits) store.Store
	// WatchBuffer is the Watch buffer size of the stores Open returns;
	// 0 means store.DefaultWatchBuffer.
	WatchBuffer int
	// Goroutines and OpsPerGoroutine size the concurrency test;
	// 0 means 100 and 25.
	Goroutines, OpsPerGoroutine int
}

// Project ids used by the suite.
const (
	ProjectA = "5b55e806c93dde00143163dd"
	ProjectB = "65f1c0ffee0000000000b002"
	UserA    = "5b55e806c93dde00143163aa"
)

// Run runs the suite, each part as a subtest on a fresh store.
func Run(t *testing.T, h Harness) {
	if h.WatchBuffer == 0 {
		h.WatchBuffer = store.DefaultWatchBuffer
	}
	if h.Goroutines == 0 {
		h.Goroutines = 100
	}
	if h.OpsPerGoroutine == 0 {
		h.OpsPerGoroutine = 25
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness, store.Store)
	}{
		{"Create", testCreate},
		{"CreateInvalid", testCreateInvalid},
		{"GetNotFound", testGetNotFound},
		{"ProjectIsolation", testProjectIsolation},
		{"Update", testUpdate},
		{"UpdateConflict", testUpdateConflict},
		{"UpdateInvalid", testUpdateInvalid},
		{"Delete", testDelete},
		{"List", testList},
		{"ListSort", testListSort},
		{"ListInvalid", testListInvalid},
		{"Context", testContext},
		{"Watch", testWatch},
		{"WatchCancel", testWatchCancel},
		{"WatchSlowConsumer", testWatchSlowConsumer},
		{"WatchFollow", testWatchFollow},
		{"Concurrency", testConcurrency},
		{"Close", testClose},
		{"Reopen", testReopen},
		{"LimitSegments", testLimitSegments},
		{"LimitBytes", testLimitBytes},
		{"LimitConcurrent", testLimitConcurrent},
		{"Leads", testLeads},
		{"LeadsInvalid", testLeadsInvalid},
		{"LeadsIsolation", testLeadsIsolation},
		{"LeadsConcurrent", testLeadsConcurrent},
		{"LeadsReopen", testLeadsReopen},
		{"LeadsClose", testLeadsClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := h.Open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, h, s)
		})
	}
}

// Seg builds a segment definition.
func Seg(name string, match filter.Match, fs ...filter.Filter) filter.Segment {
	if fs == nil {
		fs = []filter.Filter{}
	}
	return filter.Segment{Name: name, Match: match, Filters: fs}
}

// vip is a valid definition with a nested group and every filter flag.
func vip(name string) filter.Segment {
	return Seg(name, filter.All,
		filter.Cond("attributes.country", "=", "IT"),
		filter.Cond("tags", "contains", "vip"),
		filter.Group(filter.Any,
			filter.Cond("attributes.orders", ">=", 3),
			filter.Filter{Field: "email", Operator: "ends with", Value: filter.ValueOf("@bigco.com"), IgnoreCase: true},
		),
		filter.Filter{Field: "phone", Operator: "is_set", Negate: true},
	)
}

func mustCreate(t *testing.T, s store.Store, project, name string) filter.Segment {
	t.Helper()
	seg, err := s.Create(t.Context(), project, UserA, vip(name))
	if err != nil {
		t.Fatalf("Create(%s, %q): %v", project, name, err)
	}
	return seg
}

func mustGet(t *testing.T, s store.Store, project, id string) filter.Segment {
	t.Helper()
	seg, err := s.Get(t.Context(), project, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", project, id, err)
	}
	return seg
}

func listAll(t *testing.T, s store.Store, project string) []filter.Segment {
	t.Helper()
	segs, n, err := s.List(t.Context(), project, store.ListOptions{Limit: store.MaxLimit, Direction: store.Ascending})
	if err != nil {
		t.Fatalf("List(%s): %v", project, err)
	}
	if n != len(segs) {
		t.Fatalf("List(%s): count %d, got %d segments", project, n, len(segs))
	}
	return segs
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func sameSegment(t *testing.T, what string, got, want filter.Segment) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// filtersJSON renders filters for comparison (the store canonicalises
// values, so compare through the wire format).
func filtersJSON(t *testing.T, fs []filter.Filter) string {
	t.Helper()
	if fs == nil {
		fs = []filter.Filter{}
	}
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recv waits for the next event.
func recv(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	panic("unreachable")
}

// waitClosed waits for ch to be closed, draining it.
func waitClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed within 10s")
		}
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

var errCanceled = context.Canceled

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
