package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// ack is one acknowledged conditional update of a shared segment.
type ack struct {
	prev, next time.Time
	name       string
}

// own is what a goroutine last acknowledged for one of its own segments.
type own struct {
	project string
	seg     filter.Segment
	deleted bool
}

// testConcurrency runs Goroutines goroutines mixing every operation on two
// projects: conditional updates racing on shared "hot" segments, and
// creates, unconditional updates and deletes of each goroutine's own
// segments, with reads and lists in between. Afterwards every
// acknowledged write must be readable, and the successful conditional
// updates of each hot segment must form one chain (each starting from the
// state the previous one produced): two successes from the same state
// would be a lost update.
func testConcurrency(t *testing.T, h Harness, s store.Store) {
	projects := []string{ProjectA, ProjectB}
	const hotPerProject = 4
	type hotSeg struct {
		project string
		created filter.Segment
		mu      sync.Mutex
		acks    []ack
	}
	var hot []*hotSeg
	for _, p := range projects {
		for i := 0; i < hotPerProject; i++ {
			hot = append(hot, &hotSeg{project: p, created: mustCreate(t, s, p, fmt.Sprint("hot", i))})
		}
	}

	// A watcher checks that each segment's versions arrive in order.
	watchCtx, stopWatch := context.WithCancel(t.Context())
	defer stopWatch()
	feed, err := s.Watch(watchCtx, ProjectA)
	if err != nil {
		t.Fatal(err)
	}
	watchErr := make(chan error, 1)
	go func() {
		last := map[string]uint64{}
		var err error
		for ev := range feed {
			if ev.Type == store.EventResync {
				clear(last) // versions may jump after lost events
				continue
			}
			if v := last[ev.Segment.ID]; ev.Version <= v && err == nil {
				err = fmt.Errorf("segment %s: version %d delivered after %d", ev.Segment.ID, ev.Version, v)
			}
			last[ev.Segment.ID] = ev.Version
		}
		watchErr <- err
	}()

	var ops, conflicts, failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	owned := make([][]*own, h.Goroutines)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < h.Goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			var mine []*own
			for i := 0; i < h.OpsPerGoroutine; i++ {
				ops.Add(1)
				p := projects[rng.IntN(len(projects))]
				switch r := rng.IntN(100); {
				case r < 20 || len(mine) == 0 && r < 45: // create
					seg, err := s.Create(ctx, p, UserA, vip(fmt.Sprintf("own-%d-%d", g, i)))
					if err != nil {
						fail("create: %v", err)
						continue
					}
					mine = append(mine, &own{project: p, seg: seg})
				case r < 50: // conditional update of a hot segment
					hs := hot[rng.IntN(len(hot))]
					cur, err := s.Get(ctx, hs.project, hs.created.ID)
					ops.Add(1)
					if err != nil {
						fail("get hot: %v", err)
						continue
					}
					name := fmt.Sprintf("hot-%d-%d", g, i)
					got, err := s.Update(ctx, hs.project, hs.created.ID, store.SegmentUpdate{Name: &name, IfUpdatedAt: cur.UpdatedAt})
					switch {
					case errors.Is(err, store.ErrConflict):
						conflicts.Add(1)
					case err != nil:
						fail("update hot: %v", err)
					case got.Name != name || !got.UpdatedAt.After(cur.UpdatedAt):
						fail("update hot returned %q at %v from %v", got.Name, got.UpdatedAt, cur.UpdatedAt)
					default:
						hs.mu.Lock()
						hs.acks = append(hs.acks, ack{prev: cur.UpdatedAt, next: got.UpdatedAt, name: name})
						hs.mu.Unlock()
					}
				case r < 65: // unconditional update of an own segment
					if len(mine) == 0 {
						continue
					}
					o := mine[rng.IntN(len(mine))]
					name := fmt.Sprintf("mine-%d-%d", g, i)
					fs := []filter.Filter{filter.Cond("n", "=", i)}
					got, err := s.Update(ctx, o.project, o.seg.ID, store.SegmentUpdate{Name: &name, Filters: &fs})
					if err != nil {
						fail("update own: %v", err)
						continue
					}
					o.seg = got
				case r < 72: // delete an own segment
					if len(mine) == 0 {
						continue
					}
					k := rng.IntN(len(mine))
					o := mine[k]
					got, err := s.Delete(ctx, o.project, o.seg.ID)
					if err != nil || got.Status != filter.StatusDeleted {
						fail("delete own: %v", err)
						continue
					}
					o.seg, o.deleted = got, true
					mine = append(mine[:k], mine[k+1:]...)
					owned[g] = append(owned[g], o)
				case r < 90: // read back an own segment (or a hot one)
					if len(mine) == 0 {
						hs := hot[rng.IntN(len(hot))]
						if _, err := s.Get(ctx, hs.project, hs.created.ID); err != nil {
							fail("get hot: %v", err)
						}
						continue
					}
					o := mine[rng.IntN(len(mine))]
					got, err := s.Get(ctx, o.project, o.seg.ID)
					if err != nil {
						fail("get own: %v", err)
						continue
					}
					if !got.UpdatedAt.Equal(o.seg.UpdatedAt) || got.Name != o.seg.Name {
						fail("own segment %s: read %q@%v, last acknowledged %q@%v", o.seg.ID, got.Name, got.UpdatedAt, o.seg.Name, o.seg.UpdatedAt)
					}
				default: // list a page
					segs, n, err := s.List(ctx, p, store.ListOptions{Limit: 10, Page: rng.IntN(3), Sort: store.SortUpdatedAt})
					if err != nil || n < hotPerProject || len(segs) > 10 {
						fail("list: %d segments, count %d, %v", len(segs), n, err)
					}
				}
			}
			owned[g] = append(owned[g], mine...)
		}()
	}
	wg.Wait()
	stopWatch()
	if err := <-watchErr; err != nil {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	// Hot segments: the acknowledged updates form one chain from the
	// created state to the stored one.
	var acked int
	for _, hs := range hot {
		byPrev := map[time.Time]ack{}
		for _, a := range hs.acks {
			if other, dup := byPrev[a.prev]; dup {
				t.Fatalf("segment %s: lost update: %q and %q both applied to the state of %v", hs.created.ID, other.name, a.name, a.prev)
			}
			byPrev[a.prev] = a
		}
		cur, name, n := hs.created.UpdatedAt, hs.created.Name, 0
		for {
			a, ok := byPrev[cur]
			if !ok {
				break
			}
			cur, name = a.next, a.name
			n++
		}
		if n != len(hs.acks) {
			t.Fatalf("segment %s: %d acknowledged updates, only %d chain from its creation", hs.created.ID, len(hs.acks), n)
		}
		got := mustGet(t, s, hs.project, hs.created.ID)
		if !got.UpdatedAt.Equal(cur) || got.Name != name {
			t.Fatalf("segment %s: stored %q@%v, last acknowledged %q@%v", hs.created.ID, got.Name, got.UpdatedAt, name, cur)
		}
		acked += n
	}

	// Own segments: exactly the last acknowledged state, or not found.
	active := map[string]int{}
	for _, p := range projects {
		active[p] = hotPerProject
	}
	var total int
	for _, os := range owned {
		for _, o := range os {
			total++
			got, err := s.Get(ctx, o.project, o.seg.ID)
			if o.deleted {
				wantErr(t, "Get deleted "+o.seg.ID, err, store.ErrNotFound)
				continue
			}
			if err != nil {
				t.Fatalf("own segment %s: %v", o.seg.ID, err)
			}
			sameSegment(t, "own segment "+o.seg.ID, got, o.seg)
			active[o.project]++
		}
	}
	for _, p := range projects {
		if _, n, err := s.List(ctx, p, store.ListOptions{}); err != nil || n != active[p] {
			t.Fatalf("project %s: count %d, %v; want %d", p, n, err, active[p])
		}
	}
	t.Logf("%d goroutines, %d operations: %d conditional updates applied, %d conflicts reported, %d segments created",
		h.Goroutines, ops.Load(), acked, conflicts.Load(), total)
}
