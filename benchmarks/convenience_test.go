package benchmarks

import (
	"testing"

	"github.com/segmatch/segmatch/engine"
)

// BenchmarkConvenience: eng.ClassifyJSON (the call API.md and the README
// show first) against ClassifyJSONInto with a caller-owned Result, on the
// default workload. Target (issue 14): within 1.3x.
//
//	go test -run '^$' -bench Convenience -benchmem ./benchmarks
func BenchmarkConvenience(b *testing.B) {
	w := workload(b, DefaultConfig)
	eng, err := engine.New(w.Segments)
	if err != nil {
		b.Fatal(err)
	}
	var into, conv float64
	b.Run("ClassifyJSONInto", func(b *testing.B) {
		res := eng.NewResult()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := eng.ClassifyJSONInto(w.Raw[i%len(w.Raw)], res); err != nil {
				b.Fatal(err)
			}
			i++
		}
		into = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("ClassifyJSON", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := eng.ClassifyJSON(w.Raw[i%len(w.Raw)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		conv = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if into > 0 {
		b.Logf("ClassifyJSON / ClassifyJSONInto: %.2fx (target <= 1.3)", conv/into)
	}
}
