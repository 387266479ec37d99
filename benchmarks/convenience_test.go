package benchmarks

import (
	"slices"
	"testing"
	"time"

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

// BenchmarkConvenienceRatio is BenchmarkConvenience's ratio measured the
// way a shared machine allows: each iteration is one round of 500
// ClassifyJSONInto calls then 500 ClassifyJSON calls on the same
// contacts, and the metric is the median of the rounds' ratios (a burst
// of load on the machine moves both halves of a round together).
//
//	go test -run '^$' -bench ConvenienceRatio -benchtime 400x ./benchmarks
func BenchmarkConvenienceRatio(b *testing.B) {
	w := workload(b, DefaultConfig)
	eng, err := engine.New(w.Segments)
	if err != nil {
		b.Fatal(err)
	}
	res := eng.NewResult()
	const calls = 500
	var ratios []float64
	k := 0
	into := func() {
		for i := range calls {
			if err := eng.ClassifyJSONInto(w.Raw[(k+i)%len(w.Raw)], res); err != nil {
				b.Fatal(err)
			}
		}
	}
	conv := func() {
		for i := range calls {
			if _, err := eng.ClassifyJSON(w.Raw[(k+i)%len(w.Raw)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		first, second := into, conv
		if len(ratios)%2 == 1 { // alternate which goes first
			first, second = conv, into
		}
		t0 := time.Now()
		first()
		t1 := time.Now()
		second()
		t2 := time.Now()
		k += calls
		r := float64(t2.Sub(t1)) / float64(t1.Sub(t0))
		if len(ratios)%2 == 1 {
			r = 1 / r
		}
		ratios = append(ratios, r)
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "json/into")
	b.ReportMetric(0, "ns/op")
}
