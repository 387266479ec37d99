package benchmarks

import (
	"encoding/json"
	"testing"

	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// BenchmarkCompile times what a run pays before its first contact, on the
// default workload's 200 segments: decoding their JSON (filter's
// validating decoder) and building the engine (compiling, interning and
// indexing every condition). It is most of `segmatch classify`'s fixed
// cost.
//
//	go test -run '^$' -bench Compile -benchmem ./benchmarks
func BenchmarkCompile(b *testing.B) {
	segs := GenerateSegments(DefaultConfig)
	raws := make([][]byte, len(segs))
	for i, s := range segs {
		raw, err := json.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = raw
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, raw := range raws {
				if _, err := filter.DecodeSegment(raw); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("engine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := engine.New(segs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
