package engine_test

import (
	"fmt"
	"testing"

	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// TestForeignResult: a Result of another engine, smaller or bigger, eager
// (64 segments and more) or lazy, panics in ClassifyJSONInto and
// ClassifyMapInto rather than reading the contact through the other
// engine's key tree (wrong verdicts) or past its buffers; a Result of the
// engine itself still works after.
func TestForeignResult(t *testing.T) {
	build := func(n int, field string) *engine.Engine {
		var segs []filter.Segment
		for i := range n {
			segs = append(segs, filter.Segment{ID: fmt.Sprint(i), Filters: []filter.Filter{
				filter.Cond(field, "eq", fmt.Sprint(i%7)), filter.Cond(field+"2", "gt", i%5)}})
		}
		e, err := engine.New(segs, fixedNow())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	engines := []*engine.Engine{build(3, "a"), build(10, "b"), build(100, "c"), build(300, "d")}
	raw := []byte(`{"a":"1","a2":9,"b":"1","b2":9,"c":"1","c2":9,"d":"1","d2":9}`)
	for i, a := range engines {
		for j, b := range engines {
			if i == j {
				continue
			}
			for _, mapPath := range []bool{false, true} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("engine of %d segments, Result of one of %d (map %v): no panic", b.Len(), a.Len(), mapPath)
						}
					}()
					if mapPath {
						b.ClassifyMapInto(map[string]any{"a": "1"}, a.NewResult())
					} else {
						_ = b.ClassifyJSONInto(raw, a.NewResult())
					}
				}()
			}
		}
	}
	for _, e := range engines {
		r := e.NewResult()
		if err := e.ClassifyJSONInto(raw, r); err != nil {
			t.Fatal(err)
		}
		if r.Count() == 0 {
			t.Errorf("engine of %d segments: no match", e.Len())
		}
	}
}
