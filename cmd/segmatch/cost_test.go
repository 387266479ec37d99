package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/internal/testkit/cputime"
	"github.com/segmatch/segmatch/internal/testkit/sample"
)

// The cost of the command line over the engine (issue 14 item 6): the
// CPU time per contact of `segmatch classify` (run in process, stdout
// discarded) against engine.ClassifyStream on the same file and the same
// segments, with a sink that only counts. Target: within 1.1×.
//
//	SEGMATCH_CLI_COST=1 go test -run TestCLICost -v ./cmd/segmatch/
//
// SEGMATCH_CLI_COST_N sets the number of contacts (default 100000),
// SEGMATCH_CLI_COST_ROUNDS the interleaved rounds (default 16),
// SEGMATCH_CLI_COST_FORMAT the --format (default jsonl) and
// SEGMATCH_CLI_COST_WORKLOAD the workload (generated, the default, or
// sample; see costInput), SEGMATCH_CLI_COST_WORKERS the workers (default
// 0: one per core, both sides). The benchmarks time the same runs on
// 20,000 generated contacts (where classify's fixed cost, reading and
// compiling the segments, weighs five times what it does on 100,000):
//
//	go test -run '^$' -bench ClassifyCost -benchtime 5x ./cmd/segmatch/

// costInput writes the segments and n contacts of a workload into a
// temporary directory of tb's: "generated", issue 4's (the benchmarks'
// DefaultConfig: 200 generated segments of 3 to 5 conditions, ~1 KB
// contacts, each made afresh), or "sample", the shipped sample's 43
// segments and n of its leads (~780 bytes).
func costInput(tb testing.TB, workload string, n int) (segments, contacts string) {
	tb.Helper()
	dir := tb.TempDir()
	segments, contacts = filepath.Join(dir, "segments.json"), filepath.Join(dir, "contacts.jsonl")
	switch workload {
	case "generated":
		cfg := benchmarks.DefaultConfig
		// one segment a line, as the sample's file
		var b bytes.Buffer
		b.WriteString("[\n")
		for i, seg := range benchmarks.GenerateSegments(cfg) {
			raw, err := json.Marshal(seg)
			if err != nil {
				tb.Fatal(err)
			}
			if i > 0 {
				b.WriteString(",\n")
			}
			b.Write(raw)
		}
		b.WriteString("\n]\n")
		if err := os.WriteFile(segments, b.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		f, err := os.Create(contacts)
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if _, err := io.Copy(w, benchmarks.NewContactReader(cfg, n)); err != nil {
			tb.Fatal(err)
		}
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			tb.Fatal(err)
		}
	case "sample":
		if err := sample.WriteFiles(dir, sample.DefaultSeed, n); err != nil {
			tb.Fatal(err)
		}
		segments, contacts = filepath.Join(dir, sample.SegmentsFile), filepath.Join(dir, sample.LeadsFile)
	default:
		tb.Fatalf("workload %q: want generated or sample", workload)
	}
	return segments, contacts
}

// costRun is one measured run: the contacts classified and the process
// CPU time (user + system) and wall time it took.
type costRun struct {
	contacts  int64
	cpu, wall time.Duration
}

func (r costRun) usPerContact() float64 {
	return float64(r.cpu.Microseconds()) / float64(r.contacts)
}

// measure runs f after a collection (so that no run pays for the
// previous one's garbage) and takes the CPU and wall time it used. The
// run's goroutines carry the profiler label side=name (go tool pprof
// -tagfocus side=classify).
func measure(name string, f func() int64) costRun {
	runtime.GC()
	cpu0, start := cputime.Process(), time.Now()
	var n int64
	pprof.Do(context.Background(), pprof.Labels("side", name), func(context.Context) { n = f() })
	return costRun{contacts: n, cpu: cputime.Process() - cpu0, wall: time.Since(start)}
}

// newCostEngine builds the engine of a segments file, as classify does.
func newCostEngine(tb testing.TB, segFile string) *engine.Engine {
	now := func() time.Time { return sample.Now }
	set, err := loadSegments(segFile, now)
	if err != nil || len(set.problems) > 0 {
		tb.Fatalf("segments: %v %v", err, set.problems)
	}
	eng, err := engine.New(set.segments(), segmatch.WithNow(now))
	if err != nil {
		tb.Fatal(err)
	}
	return eng
}

// engineRun streams the contacts through eng.ClassifyStream, as the
// benchmarks' MeasureStream does: the sink only counts matches. The
// engine is built beforehand: what is measured is the stream alone.
func engineRun(tb testing.TB, eng *engine.Engine, contacts string, workers int) int64 {
	f, err := os.Open(contacts)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	hits := 0
	st, err := eng.ClassifyStream(context.Background(), f, func(l *engine.Line) error {
		if l.Err != nil {
			return l.Err
		}
		hits += l.Result.Count()
		return nil
	}, engine.StreamOptions{Workers: workers})
	if err != nil {
		tb.Fatal(err)
	}
	return st.Contacts
}

// cliRun runs `segmatch classify` in process on the contacts, stdout to
// io.Discard, and returns the contacts its summary counts.
func cliRun(tb testing.TB, segFile, leads, format string, workers int) int64 {
	var stderr bytes.Buffer
	code := run([]string{"classify", "--segments", segFile, "--now", sample.Now.Format(time.RFC3339), "--format", format,
		"--workers", strconv.Itoa(workers), leads}, nil, io.Discard, &stderr)
	if code != exitOK {
		tb.Fatalf("classify: exit %d\n%s", code, stderr.String())
	}
	// "segmatch classify: 100000 contacts, ..."
	var n int64
	if _, err := fmt.Sscanf(stderr.String(), "segmatch classify: %d contact", &n); err != nil {
		tb.Fatalf("summary %q: %v", stderr.String(), err)
	}
	return n
}

func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

func TestCLICost(t *testing.T) {
	if os.Getenv("SEGMATCH_CLI_COST") == "" {
		t.Skip("set SEGMATCH_CLI_COST=1 to measure classify's CPU per contact against the engine's")
	}
	n := envInt(t, "SEGMATCH_CLI_COST_N", 100_000)
	rounds := envInt(t, "SEGMATCH_CLI_COST_ROUNDS", 16)
	format := os.Getenv("SEGMATCH_CLI_COST_FORMAT")
	if format == "" {
		format = formatJSONL
	}
	workers := 0
	if os.Getenv("SEGMATCH_CLI_COST_WORKERS") != "" {
		workers = envInt(t, "SEGMATCH_CLI_COST_WORKERS", 0)
	}
	workload := os.Getenv("SEGMATCH_CLI_COST_WORKLOAD")
	if workload == "" {
		workload = "generated"
	}
	segFile, leads := costInput(t, workload, n)
	fi, err := os.Stat(leads)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s workload: %d contacts (%.1f MB), GOMAXPROCS %d, --format %s, --workers %d", workload, n, float64(fi.Size())/1e6, runtime.GOMAXPROCS(0), format, workers)

	// SEGMATCH_CLI_COST_ONLY=engine or classify runs one side alone (to
	// profile it with -cpuprofile)
	only := os.Getenv("SEGMATCH_CLI_COST_ONLY")
	eng := newCostEngine(t, segFile)
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// a warm-up of each, then rounds alternating which goes first; each
	// round also runs classify on no contacts, for its fixed cost
	// (reading and compiling the segments)
	engineRun(t, eng, leads, workers)
	cliRun(t, segFile, leads, format, workers)
	var engs, cli, fixed []costRun
	var ratios []float64
	for r := 0; r < rounds; r++ {
		e := func() {
			engs = append(engs, measure("engine", func() int64 { return engineRun(t, eng, leads, workers) }))
		}
		c := func() {
			cli = append(cli, measure("classify", func() int64 { return cliRun(t, segFile, leads, format, workers) }))
		}
		switch {
		case only == "engine":
			e()
			continue
		case only == "classify":
			c()
			continue
		case r%2 == 0:
			e()
			c()
		default:
			c()
			e()
		}
		fixed = append(fixed, measure("fixed", func() int64 { return cliRun(t, segFile, empty, format, workers) }))
		er, cr := engs[len(engs)-1], cli[len(cli)-1]
		if er.contacts != int64(n) || cr.contacts != int64(n) {
			t.Fatalf("contacts: engine %d, classify %d; want %d", er.contacts, cr.contacts, n)
		}
		ratios = append(ratios, cr.usPerContact()/er.usPerContact())
		t.Logf("round %2d: engine %5.2f µs CPU/contact (%v wall), classify %5.2f µs CPU/contact (%v wall): %.3f×",
			r+1, er.usPerContact(), er.wall.Round(time.Millisecond), cr.usPerContact(), cr.wall.Round(time.Millisecond), ratios[r])
	}
	// On a shared machine a run is slowed by whatever else runs: the
	// median of the rounds' ratios and the ratio of the totals are
	// printed, and the fixed cost apart.
	us := func(rs []costRun) (med, total float64) {
		var xs []float64
		var cpu time.Duration
		var n int64
		for _, r := range rs {
			xs = append(xs, r.usPerContact())
			cpu += r.cpu
			n += r.contacts
		}
		return median(xs), float64(cpu.Microseconds()) / float64(n)
	}
	if only != "" {
		m, _ := us(append(engs, cli...))
		t.Logf("%s alone: median %.2f µs CPU/contact", only, m)
		return
	}
	em, et := us(engs)
	cm, ct := us(cli)
	var fx []float64
	for _, f := range fixed {
		fx = append(fx, float64(f.cpu.Microseconds())/1e3)
	}
	fm := median(fx) * 1e3 / float64(n) // µs a contact
	t.Logf("engine   µs CPU/contact: median %.2f, over all rounds %.2f", em, et)
	t.Logf("classify µs CPU/contact: median %.2f, over all rounds %.2f; of which the fixed cost %.2f (%.1f ms CPU for no contacts)",
		cm, ct, fm, median(fx))
	t.Logf("classify / engine: %.3f× (median of the rounds' ratios), %.3f× over all rounds, %.3f× without the fixed cost; target ≤ 1.1×",
		median(ratios), ct/et, (ct-fm)/et)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkClassifyCost times one pass over 20,000 generated contacts an
// iteration: the engine's stream with a counting sink, and `segmatch
// classify` in process (jsonl and csv); each reports CPU µs a contact.
func BenchmarkClassifyCost(b *testing.B) {
	const n = 20_000
	segFile, leads := costInput(b, "generated", n)
	eng := newCostEngine(b, segFile)
	for _, bc := range []struct {
		name string
		f    func() int64
	}{
		{"engine", func() int64 { return engineRun(b, eng, leads, 0) }},
		{"classify_jsonl", func() int64 { return cliRun(b, segFile, leads, formatJSONL, 0) }},
		{"classify_csv", func() int64 { return cliRun(b, segFile, leads, formatCSV, 0) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var cpu time.Duration
			var contacts int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := measure(bc.name, bc.f)
				cpu += r.cpu
				contacts += r.contacts
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(contacts), "ns/contact")
			b.ReportMetric(float64(cpu.Microseconds())/float64(contacts), "cpu-µs/contact")
		})
	}
}

// BenchmarkClassifyFixedCost is what classify pays before its first
// contact (reading, checking and compiling the 200 generated segments,
// opening the input, writing the summary), on an empty file; under
// callgrind, its instructions a run:
//
//	go test -run '^$' -bench ClassifyFixedCost -benchtime 200x ./cmd/segmatch/
func BenchmarkClassifyFixedCost(b *testing.B) {
	segFile, _ := costInput(b, "generated", 1)
	empty := filepath.Join(b.TempDir(), "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cliRun(b, segFile, empty, formatJSONL, 0)
	}
}
