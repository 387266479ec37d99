package benchmarks

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/segmatch/segmatch/engine"
)

// The Go benchmarks of issue 4's workload (DefaultConfig: 200 segments of
// 3 to 5 conditions, 16 fields, ~1 KB contacts). ns/op is ns per contact.
// Each parent benchmark runs its cases in one process and logs the
// ratios, as the root package's BenchmarkCore does:
//
//	go test -run '^$' -bench . -benchmem ./benchmarks
//
// Results can be compared across commits with benchstat.

var workloads sync.Map // Config -> *Workload

func workload(b *testing.B, cfg Config) *Workload {
	if w, ok := workloads.Load(cfg); ok {
		return w.(*Workload)
	}
	w, err := Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	workloads.Store(cfg, w)
	return w
}

// cost is one sub-benchmark's wall and process CPU ns per contact.
type cost struct{ wall, cpu float64 }

// runBackend times one backend over the workload's contacts, in turn. It
// also reports cpu-ns/op, the process CPU time per contact, which other
// processes on a busy machine disturb less than wall time.
func runBackend(b *testing.B, be Backend, w *Workload) cost {
	dst := make([]bool, len(w.Segments))
	for _, raw := range w.Raw { // warm-up, and a check
		if err := be.Classify(raw, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(w.AvgBytes()))
	b.ResetTimer()
	cpu0 := processCPU()
	i := 0
	for b.Loop() {
		be.Classify(w.Raw[i%len(w.Raw)], dst)
		i++
	}
	c := cost{wall: float64(b.Elapsed().Nanoseconds()) / float64(b.N), cpu: float64((processCPU() - cpu0).Nanoseconds()) / float64(b.N)}
	b.ReportMetric(1e9/c.wall, "contacts/s")
	b.ReportMetric(c.cpu, "cpu-ns/op")
	return c
}

// BenchmarkBackends: the five backends of issue 4 on the default workload,
// and the validate-only floors (Floors). Targets: engine >= 25x faster
// than gjson, >= 3x faster than decode+match.
func BenchmarkBackends(b *testing.B) {
	w := workload(b, DefaultConfig)
	ns := map[string]cost{}
	for _, name := range AllBackends {
		b.Run(name, func(b *testing.B) {
			be, err := New(name, w.Segments)
			if err != nil {
				b.Fatal(err)
			}
			ns[name] = runBackend(b, be, w)
		})
	}
	e := ns[Engine]
	if e.wall == 0 || e.cpu == 0 {
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%d segments, %d contacts of ~%d bytes; time per contact as a ratio to the engine (wall, CPU):", len(w.Segments), len(w.Raw), w.AvgBytes())
	for _, name := range AllBackends[1:] {
		fmt.Fprintf(&sb, "\n  %-13s %7.2fx %7.2fx", name, ns[name].wall/e.wall, ns[name].cpu/e.cpu)
	}
	fmt.Fprintf(&sb, "\ngjson / engine:        %.1fx wall, %.1fx CPU (target >= 25)", ns[GJSON].wall/e.wall, ns[GJSON].cpu/e.cpu)
	fmt.Fprintf(&sb, "\ndecode+match / engine: %.1fx wall, %.1fx CPU (target >= 3)", ns[DecodeMatch].wall/e.wall, ns[DecodeMatch].cpu/e.cpu)
	floor := Floors[0]
	for _, f := range Floors {
		if ns[f].cpu < ns[floor].cpu {
			floor = f
		}
	}
	fmt.Fprintf(&sb, "\nengine / fastest validate-only (%s): %.2fx wall, %.2fx CPU", floor, e.wall/ns[floor].wall, e.cpu/ns[floor].cpu)
	b.Log(sb.String())
}

// BenchmarkScale: the engine with 10, 100 and 1,000 segments drawn from
// the same pools, over the same contacts. Target: 1,000 cost at most 3x
// what 100 cost.
func BenchmarkScale(b *testing.B) {
	counts := []int{10, 100, 1000}
	ns := map[int]cost{}
	for _, n := range counts {
		b.Run(fmt.Sprintf("segments=%d", n), func(b *testing.B) {
			cfg := DefaultConfig
			cfg.Segments = n
			w := workload(b, cfg)
			be, err := NewEngine(w.Segments)
			if err != nil {
				b.Fatal(err)
			}
			ns[n] = runBackend(b, be, w)
		})
	}
	if ns[100].wall == 0 || ns[10].cpu == 0 {
		return
	}
	b.Logf("\nengine, 1000 / 100 segments: %.2fx wall, %.2fx CPU (target <= 3); 100 / 10: %.2fx wall, %.2fx CPU",
		ns[1000].wall/ns[100].wall, ns[1000].cpu/ns[100].cpu, ns[100].wall/ns[10].wall, ns[100].cpu/ns[10].cpu)
}

// BenchmarkStream: engine.ClassifyStream over b.N contacts (the workload's,
// cycled) with 1 and 2 workers. Target: 2 workers >= 1.6x one.
func BenchmarkStream(b *testing.B) {
	w := workload(b, DefaultConfig)
	eng, err := engine.New(w.Segments)
	if err != nil {
		b.Fatal(err)
	}
	ns := map[int]float64{}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(int64(w.AvgBytes()))
			r, err := MeasureStream(eng, NewCycleReader(w.Raw, b.N), workers)
			if err != nil {
				b.Fatal(err)
			}
			if r.Contacts != int64(b.N) {
				b.Fatalf("streamed %d of %d", r.Contacts, b.N)
			}
			ns[workers] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(1e9/ns[workers], "contacts/s")
			b.ReportMetric(r.Cores(), "cores")
		})
	}
	if ns[2] == 0 {
		return
	}
	b.Logf("\nstream, 2 workers / 1 worker throughput: %.2fx (target >= 1.6)", ns[1]/ns[2])
}
