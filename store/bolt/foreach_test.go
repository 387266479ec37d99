package bolt_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
)

// TestForEachLeadChunked: a walk over several chunks of leads keeps the
// order they were first stored in (not their keys' order; a replaced
// lead keeps its place, one deleted and stored again comes last), and fn
// may write to the store, growing the file (bbolt remaps it, which waits
// for every open read transaction: fn called inside one would deadlock),
// without any of those writes lost. Leads written during the walk are
// seen with their latest JSON, or not at all.
func TestForEachLeadChunked(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "segments.db"))
	stuck := false
	defer func() {
		if !stuck { // Close would wait for the stuck walk
			s.Close()
		}
	}()
	ctx := t.Context()
	n := 3*bolt.ForEachChunk + 17
	var want []string
	// Stored in an order unlike the keys': descending ids, by batches.
	for i := n - 1; i >= 0; i -= 100 {
		var batch []store.Lead
		for j := i; j > i-100 && j >= 0; j-- {
			id := fmt.Sprintf("lead-%05d", j)
			batch = append(batch, store.Lead{ID: id, Raw: []byte(`{"v":1}`)})
			want = append(want, id)
		}
		if err := s.PutLeads(ctx, "p", batch); err != nil {
			t.Fatal(err)
		}
	}
	// lead-00042 replaced: keeps its place; lead-00007 deleted and stored
	// again: last.
	if err := s.PutLeads(ctx, "p", []store.Lead{{ID: "lead-00042", Raw: []byte(`{"v":2}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLead(ctx, "p", "lead-00007"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLeads(ctx, "p", []store.Lead{{ID: "lead-00007", Raw: []byte(`{"v":3}`)}}); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id == "lead-00007" })
	want = append(want, "lead-00007")

	big := bytes.Repeat([]byte("x"), 256<<10)
	var got []string
	raws := map[string]string{}
	writes := 0
	done := make(chan error, 1)
	go func() {
		done <- s.ForEachLead(ctx, "p", func(id string, raw []byte) error {
			got = append(got, id)
			raws[id] = string(raw)
			if len(got)%200 == 0 {
				// Grow the file: 4 MiB into another project, and
				// replace a lead of this one not visited yet.
				var batch []store.Lead
				for k := range 16 {
					batch = append(batch, store.Lead{ID: fmt.Sprintf("w%d-%d", writes, k), Raw: big})
				}
				if err := s.PutLeads(ctx, "q", batch); err != nil {
					return err
				}
				if err := s.PutLeads(ctx, "p", []store.Lead{{ID: "lead-00000", Raw: []byte(fmt.Sprintf(`{"w":%d}`, writes))}}); err != nil {
					return err
				}
				writes++
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		stuck = true
		t.Fatal("writes during the walk deadlocked")
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walked %d leads, want %d in the order first stored (first %v, want %v)", len(got), len(want), got[:3], want[:3])
	}
	if raws["lead-00042"] != `{"v":2}` || raws["lead-00007"] != `{"v":3}` {
		t.Fatalf("replaced leads: %s, %s", raws["lead-00042"], raws["lead-00007"])
	}
	// lead-00000 is visited after its replacements started (stored first
	// of the last batch): with the latest JSON written before its chunk.
	if raws["lead-00000"] == `{"v":1}` {
		t.Fatal("lead-00000 visited with its JSON from before the walk's writes")
	}
	// No write of the walk lost.
	var q int
	if err := s.ForEachLead(ctx, "q", func(id string, raw []byte) error {
		if len(raw) != len(big) {
			return fmt.Errorf("lead %s: %d bytes", id, len(raw))
		}
		q++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if q != 16*writes || writes == 0 {
		t.Fatalf("%d leads written during the walk are stored, want %d", q, 16*writes)
	}
	var last string
	if err := s.ForEachLead(context.Background(), "p", func(id string, raw []byte) error {
		if id == "lead-00000" {
			last = string(raw)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if last != fmt.Sprintf(`{"w":%d}`, writes-1) {
		t.Fatalf("lead-00000 after the walk: %s, want the last write's", last)
	}
}
