package rawjson_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// The validator on the benchmark harness's default contacts (~1 KB, the
// workload of issue 4), alone and collecting the members the default
// 200 segments read, against the reference validator:
//
//	go test -run '^$' -bench . ./internal/rawjson
//
// TestSpeed times the same in short interleaved batches and gives the
// ratios to the reference, far steadier on a shared machine:
//
//	SEGMATCH_FLOOR=1 go test -count 1 -run Speed -v ./internal/rawjson

// paths is a Collector wanting the members on the segments' field paths
// (a map per node, as a plain implementation would).
type paths struct {
	kids []map[string]int32
	got  int
}

func newPaths(w *benchmarks.Workload) *paths {
	p := &paths{kids: []map[string]int32{{}}}
	for _, s := range w.Segments {
		for _, f := range s.Filters {
			n := int32(0)
			for k := range strings.SplitSeq(f.Field, ".") {
				next, ok := p.kids[n][k]
				if !ok {
					next = int32(len(p.kids))
					p.kids[n][k] = next
					p.kids = append(p.kids, map[string]int32{})
				}
				n = next
			}
		}
	}
	return p
}

func (p *paths) Member(parent int32, rawKey string) int32 {
	if n, ok := p.kids[parent][rawKey]; ok {
		return n
	}
	return -1
}

func (p *paths) Value(int32, string) { p.got++ }

func contacts(b testing.TB) *benchmarks.Workload {
	w, err := benchmarks.Generate(benchmarks.DefaultConfig)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func run(b *testing.B, w *benchmarks.Workload, f func([]byte) error) {
	for _, raw := range w.Raw {
		if err := f(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(w.AvgBytes()))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f(w.Raw[i%len(w.Raw)])
		i++
	}
}

func BenchmarkValidate(b *testing.B) {
	w := contacts(b)
	p := newPaths(w)
	b.Run("object", func(b *testing.B) { run(b, w, rawjson.ValidateObject) })
	b.Run("collect", func(b *testing.B) {
		run(b, w, func(raw []byte) error { return rawjson.ValidateCollect(raw, p, rawjson.MaxCollectDepth) })
	})
	b.Run("reference/object", func(b *testing.B) {
		run(b, w, func(raw []byte) error { return rawjson.RefValidateCollect(raw, nil, 0) })
	})
	b.Run("reference/collect", func(b *testing.B) {
		run(b, w, func(raw []byte) error { return rawjson.RefValidateCollect(raw, p, rawjson.MaxCollectDepth) })
	})
}

func TestSpeed(t *testing.T) {
	if os.Getenv("SEGMATCH_FLOOR") == "" {
		t.Skip("set SEGMATCH_FLOOR=1 to time the validator against the reference")
	}
	w := contacts(t)
	p := newPaths(w)
	bs := []benchmarks.Backend{
		benchmarks.NewFloor("object", func(raw []byte) bool { return rawjson.ValidateObject(raw) == nil }),
		benchmarks.NewFloor("collect", func(raw []byte) bool { return rawjson.ValidateCollect(raw, p, rawjson.MaxCollectDepth) == nil }),
		benchmarks.NewFloor("ref/object", func(raw []byte) bool { return rawjson.RefValidateCollect(raw, nil, 0) == nil }),
		benchmarks.NewFloor("ref/collect", func(raw []byte) bool { return rawjson.RefValidateCollect(raw, p, rawjson.MaxCollectDepth) == nil }),
	}
	total, _ := benchmarks.FloorSettings()
	iv := benchmarks.MeasureInterleaved(bs, len(w.Segments), w.Raw, total, time.Millisecond)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d contacts of ~%d bytes, %d cycles, %s time; median per contact:", len(w.Raw), w.AvgBytes(), iv.Cycles, iv.Clock)
	for k := range bs {
		fmt.Fprintf(&sb, "\n  %-12s %6.0f ns  %.3fx the reference", iv.Names[k], iv.Median(k), iv.Ratio(k, 2+k%2))
	}
	t.Log(sb.String())
}
