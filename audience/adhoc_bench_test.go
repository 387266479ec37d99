package audience

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
)

// BenchmarkAdhoc: the 200 generated segments of benchmarks.DefaultConfig
// (issue 4's workload, what the server's previews are asked: issue 16)
// answered as ad-hoc queries (Index.Query, their paths indexed first) over
// N generated contacts, beside the scan (Program.MatchJSON over every
// contact). It reports the per-query latency's mean, median, p99 and max
// (ms), the scan's mean per segment, and the ratios scan/query of the
// mean and of the median. Every answer is checked equal to the scan's.
//
//	go test -run '^$' -bench Adhoc -benchtime 3x ./audience/                    # N = 100,000
//	SEGMATCH_ADHOC_N=300000 go test -run '^$' -bench Adhoc -benchtime 3x ./audience/
//	SEGMATCH_BIG=1 go test -run '^$' -bench Adhoc -benchtime 3x -timeout 60m ./audience/  # 1,000,000
//
// Each b.N iteration runs the 200 queries once; a query's latency is its
// fastest run over the iterations. -v logs the slowest ten.
// SEGMATCH_ADHOC_SCAN=k scans (and checks) only every k-th segment.
func BenchmarkAdhoc(b *testing.B) {
	fx, err := adhocFixture()
	if err != nil {
		b.Fatal(err)
	}
	best := make([]time.Duration, len(fx.segs))
	for i := range best {
		best[i] = time.Duration(1<<63 - 1)
	}
	for b.Loop() {
		for i, s := range fx.segs {
			t0 := time.Now()
			if _, err := fx.ix.Query(s); err != nil {
				b.Fatal(err)
			}
			best[i] = min(best[i], time.Since(t0))
		}
	}
	lat := make([]float64, len(best))
	for i, d := range best {
		lat[i] = ms(d)
	}
	mean, med, p99, worst := summary(lat)
	scanMean, _, _, _ := summary(fx.scanMS)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(mean, "mean-ms")
	b.ReportMetric(med, "median-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(worst, "max-ms")
	b.ReportMetric(scanMean, "scan-ms")
	b.ReportMetric(scanMean/mean, "scan/mean")
	b.ReportMetric(scanMean/med, "scan/median")
	b.Logf("%d contacts, %d segments: query mean %.3f ms, median %.3f, p99 %.3f, max %.3f; scan %.1f ms a segment (%.0fx the mean, %.0fx the median)",
		fx.n, len(fx.segs), mean, med, p99, worst, scanMean, scanMean/mean, scanMean/med)
	order := make([]int, len(lat))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, c int) int { return int(best[c] - best[a]) })
	for _, i := range order[:min(10, len(order))] {
		b.Logf("  %.3f ms  %s", lat[i], adhocDescribe(fx.segs[i]))
	}
}

type adhocBench struct {
	ix     *Index
	n      int
	segs   []filter.Segment
	scanMS []float64
}

var adhocFixture = sync.OnceValues(func() (*adhocBench, error) {
	n := 100_000
	if s := os.Getenv("SEGMATCH_ADHOC_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("SEGMATCH_ADHOC_N: %v", err)
		}
		n = v
	} else if os.Getenv("SEGMATCH_BIG") != "" {
		n = 1_000_000
	}
	fx := &adhocBench{n: n, ix: New(Options{Now: func() time.Time { return benchClock15 }})}
	gen := benchmarks.NewContactGen(benchmarks.DefaultConfig)
	var buf []byte
	for range n {
		buf = gen.Next(buf[:0])
		if _, err := fx.ix.Upsert(buf); err != nil {
			return nil, err
		}
	}
	fx.segs = benchmarks.GenerateSegments(benchmarks.DefaultConfig)
	fx.ix.IndexPaths(fx.segs)
	every := 1
	if v, err := strconv.Atoi(os.Getenv("SEGMATCH_ADHOC_SCAN")); err == nil && v > 0 {
		every = v
	}
	for i, s := range fx.segs {
		if i%every != 0 {
			continue
		}
		prog, err := segmatch.Compile(s, segmatch.WithNow(func() time.Time { return benchClock15 }))
		if err != nil {
			return nil, err
		}
		fx.ix.mu.RLock()
		t0 := time.Now()
		want := scan(fx.ix, fx.ix.live, prog)
		fx.scanMS = append(fx.scanMS, ms(time.Since(t0)))
		fx.ix.mu.RUnlock()
		got, err := fx.ix.Query(s)
		if err != nil {
			return nil, err
		}
		if !got.bm.Equals(want) {
			return nil, fmt.Errorf("%s: the index finds %d contacts, the scan %d", adhocDescribe(s), got.Count(), want.GetCardinality())
		}
	}
	return fx, nil
})

// summary is the mean, median, p99 and max of xs.
func summary(xs []float64) (mean, med, p99, worst float64) {
	if len(xs) == 0 {
		return
	}
	s := slices.Sorted(slices.Values(xs))
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	med = s[len(s)/2]
	p99 = s[min(len(s)-1, (len(s)*99+99)/100-1)]
	return mean, med, p99, s[len(s)-1]
}

func adhocDescribe(s filter.Segment) string {
	out := s.ID + " " + string(s.Match) + ":"
	for _, f := range s.Filters {
		out += fmt.Sprintf(" [%s %s %s]", f.Field, f.Operator, f.Value)
	}
	return out
}
