package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/engine"
)

// bench runs the benchmark harness (package benchmarks): it generates a
// workload from flags, or reads one from files, checks that the backends
// agree on it, then times them one after the other in this process and
// prints a table. --sweep repeats the measurement at several segment
// counts, --stream times engine.ClassifyStream with 1 and 2 workers, and
// --out writes a Markdown report and an SVG chart.
func bench(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := benchmarks.DefaultConfig
	var (
		contacts     = fs.Int("contacts", d.Contacts, "distinct contacts to generate (measurements cycle over them)")
		segments     = fs.Int("segments", d.Segments, "segments to generate")
		fields       = fs.Int("fields", d.Fields, "size of the field pool segments draw from (1-20)")
		overlap      = fs.Float64("overlap", d.Overlap, "chance a condition's value is one the contacts hold (0-1)")
		contactBytes = fs.Int("contact-bytes", d.ContactBytes, "target size of a contact in bytes")
		seed         = fs.Uint64("seed", d.Seed, "generator seed")
		duration     = fs.Duration("duration", time.Second, "time spent measuring each backend (after a warm-up pass)")
		backends     = fs.String("backends", strings.Join(benchmarks.AllBackends, ","), "backends to run, comma-separated")
		sweep        = fs.String("sweep", "", "also measure at several segment counts, e.g. segments=10,100,1000")
		stream       = fs.Int("stream", 0, "also stream this many contacts through engine.ClassifyStream with 1 and 2 workers")
		streamRuns   = fs.Int("stream-runs", 3, "stream runs per worker count, interleaved; the fastest is reported")
		out          = fs.String("out", "", "write report.md and throughput.svg into this directory")
		segFile      = fs.String("segments-file", "", "read the segments from this file (JSON array or JSON Lines) instead of generating them")
		conFile      = fs.String("contacts-file", "", "read the contacts from this JSON Lines file instead of generating them")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: segmatch bench [flags]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "segmatch bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	names, err := parseBackends(*backends)
	if err != nil {
		fmt.Fprintln(stderr, "segmatch bench:", err)
		return exitUsage
	}
	counts, err := parseSweep(*sweep)
	if err != nil {
		fmt.Fprintln(stderr, "segmatch bench:", err)
		return exitUsage
	}
	if *fields < 1 || *fields > benchmarks.MaxFields || *overlap < 0 || *overlap > 1 || *contacts < 1 || *segments < 1 || *contactBytes < 1 {
		fmt.Fprintln(stderr, "segmatch bench: --fields must be 1-20, --overlap 0-1, --contacts, --segments and --contact-bytes positive")
		return exitUsage
	}
	cfg := benchmarks.Config{Segments: *segments, Contacts: *contacts, Fields: *fields, Overlap: *overlap,
		ContactBytes: *contactBytes, Seed: *seed}
	if *overlap == 0 {
		cfg.Overlap = 1e-9 // 0 would mean "default"
	}

	w, err := benchWorkload(cfg, *segFile, *conFile)
	if err != nil {
		fmt.Fprintln(stderr, "segmatch bench:", err)
		return exitFailure
	}
	var rep bytes.Buffer // the Markdown report
	host := readMachine(time.Now())
	fmt.Fprintf(stdout, "workload: %s\n", describe(w, cfg, *segFile, *conFile))
	fmt.Fprintf(stdout, "%s, GOMAXPROCS %d, %v per backend, one goroutine\n", runtime.Version(), runtime.GOMAXPROCS(0), *duration)
	fmt.Fprintf(stdout, "CPU: %s (%d logical CPUs); load average %s\n", host.cpu, runtime.NumCPU(), host.load)
	fmt.Fprintf(&rep, "# segmatch bench\n\n`segmatch bench %s`\n\n", strings.Join(args, " "))
	host.writeMarkdown(&rep)
	fmt.Fprintf(&rep, "\nWorkload: %s.  \n%s, %s/%s, GOMAXPROCS %d, %v per backend, one goroutine.\n\n",
		describe(w, cfg, *segFile, *conFile), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *duration)

	dis, err := benchmarks.Agree(w, names, 5)
	if err != nil {
		fmt.Fprintln(stderr, "segmatch bench:", err)
		return exitFailure
	}
	if len(dis) == 0 {
		fmt.Fprintf(stdout, "the backends agree on all %d contacts × %d segments\n\n", len(w.Raw), len(w.Segments))
	} else {
		for _, x := range dis {
			fmt.Fprintf(stdout, "warning: backends disagree: %v\n", x)
			fmt.Fprintf(&rep, "**Warning:** backends disagree: %v  \n", x)
		}
		fmt.Fprintln(stdout)
	}

	opt := benchmarks.MeasureOptions{Duration: *duration}
	results := benchmarks.MeasureAll(w, names, opt)
	benchmarks.WriteTable(stdout, results)
	fmt.Fprintf(&rep, "## Backends (%d segments)\n\n", len(w.Segments))
	benchmarks.WriteMarkdownTable(&rep, results)

	// Decoded contacts: what an embedder holding maps gets, against the
	// closures a Go programmer would write for the same segments.
	if maps, err := benchmarks.MeasureMaps(w, *duration); err != nil {
		fmt.Fprintf(stdout, "\ndecoded contacts (maps): not measured: %v\n", err)
	} else {
		e, c := maps[0], maps[1]
		fmt.Fprintf(stdout, "\ndecoded contacts (maps), CPU µs per contact: %s %.2f, %s %.2f; %s / %s: %.2fx\n",
			e.Name, e.CPUNs/1000, c.Name, c.CPUNs/1000, c.Name, e.Name, c.CPUNs/e.CPUNs)
		fmt.Fprintf(&rep, "\n## Decoded contacts (maps)\n\n| backend | CPU µs/contact | wall µs/contact |\n|---|---:|---:|\n| %s | %.2f | %.2f |\n| %s | %.2f | %.2f |\n\n%s / %s: %.2f× (CPU).\n",
			e.Name, e.CPUNs/1000, e.WallNs/1000, c.Name, c.CPUNs/1000, c.WallNs/1000, c.Name, e.Name, c.CPUNs/e.CPUNs)
	}

	sw := benchmarks.Sweep{Results: map[int][]benchmarks.Result{}}
	if len(counts) > 0 {
		if *segFile != "" {
			fmt.Fprintln(stderr, "segmatch bench: --sweep uses generated segments; --segments-file is ignored for it")
		}
		fmt.Fprintln(stdout)
		maxN := 0
		for _, c := range counts {
			maxN = max(maxN, c)
		}
		scfg := cfg
		scfg.Segments = maxN
		all := benchmarks.GenerateSegments(scfg) // the first n are the n-segment workload
		for _, c := range counts {
			sub := *w // the same contacts
			sub.Segments = benchmarks.SegmentsOf(all, c)
			fmt.Fprintf(stderr, "sweep: %d segments...\n", c)
			sw.Counts = append(sw.Counts, c)
			sw.Results[c] = benchmarks.MeasureAll(&sub, names, opt)
		}
		benchmarks.WriteSweepTable(stdout, sw, false)
		fmt.Fprintf(&rep, "\n## Sweep over segment count\n\nSame contacts, the first n generated segments; CPU µs per contact (process CPU time, GC included):\n\n")
		benchmarks.WriteSweepTable(&rep, sw, true)
	}

	if *stream > 0 {
		eng, err := engine.New(w.Segments)
		if err != nil {
			fmt.Fprintln(stderr, "segmatch bench:", err)
			return exitFailure
		}
		runs := max(*streamRuns, 1)
		fmt.Fprintf(stdout, "\nClassifyStream, %d contacts (the workload's, cycled), fastest of %d interleaved runs:\n", *stream, runs)
		fmt.Fprintf(&rep, "\n## Streaming (engine.ClassifyStream, %d contacts, fastest of %d interleaved runs)\n\n| workers | contacts/s | wall µs/contact | cores busy |\n|---:|---:|---:|---:|\n", *stream, runs)
		var best [3]benchmarks.StreamResult
		for range runs {
			for _, workers := range []int{1, 2} {
				r, err := benchmarks.MeasureStream(eng, benchmarks.NewCycleReader(w.Raw, *stream), workers)
				if err != nil {
					fmt.Fprintln(stderr, "segmatch bench:", err)
					return exitFailure
				}
				if r.PerSec > best[workers].PerSec {
					best[workers] = r
				}
			}
		}
		var per [3]float64
		var short []string
		for _, workers := range []int{1, 2} {
			r := best[workers]
			per[workers] = r.PerSec
			fmt.Fprintf(stdout, "  workers=%d  %10.0f contacts/s  %8.0f ns/contact  %.2f cores busy\n", workers, r.PerSec, r.Ns, r.Cores())
			fmt.Fprintf(&rep, "| %d | %.0f | %.2f | %.2f |\n", workers, r.PerSec, r.Ns/1000, r.Cores())
			if coresShort(r.Cores(), workers) {
				short = append(short, fmt.Sprintf("%d %s kept %.2f cores busy", workers, pluralWord(workers, "worker"), r.Cores()))
			}
		}
		if len(short) > 0 {
			msg := fmt.Sprintf("%s, below the worker count: the machine is shared or has fewer free cores (load average %s on %d logical CPUs, GOMAXPROCS %d); the throughputs and the 2 workers / 1 worker ratio understate the engine on free cores",
				strings.Join(short, ", "), readMachine(time.Now()).load1, runtime.NumCPU(), runtime.GOMAXPROCS(0))
			fmt.Fprintln(stderr, "segmatch bench: warning:", msg)
			fmt.Fprintf(&rep, "\n**Warning:** %s.\n", msg)
		}
		rss := float64(benchmarks.PeakRSS()) / (1 << 20)
		fmt.Fprintf(stdout, "  2 workers / 1 worker: %.2fx; peak RSS of this process: %.1f MB\n", per[2]/per[1], rss)
		fmt.Fprintf(&rep, "\n2 workers / 1 worker: %.2f×; peak RSS of the process: %.1f MB.\n", per[2]/per[1], rss)
	}

	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, "segmatch bench:", err)
			return exitFailure
		}
		chart := sw
		if len(chart.Counts) == 0 {
			chart = benchmarks.Sweep{Counts: []int{len(w.Segments)}, Results: map[int][]benchmarks.Result{len(w.Segments): results}}
		}
		var svg bytes.Buffer
		if err := benchmarks.WriteSVG(&svg, chart); err != nil {
			fmt.Fprintln(stderr, "segmatch bench:", err)
			return exitFailure
		}
		fmt.Fprintf(&rep, "\n## Chart\n\n![throughput against segment count](throughput.svg)\n")
		fmt.Fprintf(&rep, "\nLoad average at the end: %s.\n", readMachine(time.Now()).load)
		for name, data := range map[string][]byte{"report.md": rep.Bytes(), "throughput.svg": svg.Bytes()} {
			if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
				fmt.Fprintln(stderr, "segmatch bench:", err)
				return exitFailure
			}
		}
		fmt.Fprintf(stdout, "\nwrote %s and %s\n", filepath.Join(*out, "report.md"), filepath.Join(*out, "throughput.svg"))
	}
	return exitOK
}

func parseBackends(s string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		ok := false
		for _, k := range benchmarks.AllBackends {
			ok = ok || k == n
		}
		if !ok {
			return nil, fmt.Errorf("unknown backend %q (want some of %s)", n, strings.Join(benchmarks.AllBackends, ","))
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("--backends: none given")
	}
	return names, nil
}

// parseSweep reads "segments=10,100,1000".
func parseSweep(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	list, ok := strings.CutPrefix(s, "segments=")
	if !ok {
		return nil, fmt.Errorf("--sweep %q: want segments=N,N,...", s)
	}
	var counts []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--sweep %q: %q is not a positive count", s, f)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// benchWorkload generates the workload, or reads either half of it from
// a file (the other half is generated).
func benchWorkload(cfg benchmarks.Config, segFile, conFile string) (*benchmarks.Workload, error) {
	if segFile == "" && conFile == "" {
		return benchmarks.Generate(cfg)
	}
	segs := benchmarks.GenerateSegments(cfg)
	if segFile != "" {
		set, err := loadSegments(segFile, time.Now)
		if err != nil {
			return nil, err
		}
		if len(set.problems) > 0 {
			return nil, fmt.Errorf("%s: %s (see segmatch validate)", segFile, set.problems[0])
		}
		segs = segs[:0]
		for _, e := range set.entries {
			segs = append(segs, e.seg)
		}
	}
	var raws [][]byte
	if conFile != "" {
		data, err := readFile(conFile)
		if err != nil {
			return nil, err
		}
		for l := range bytes.SplitSeq(data, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				raws = append(raws, l)
			}
		}
		if len(raws) == 0 {
			return nil, fmt.Errorf("%s: no contacts", conFile)
		}
	} else {
		g := benchmarks.NewContactGen(cfg)
		for range cfg.Contacts {
			raws = append(raws, g.Next(nil))
		}
	}
	return benchmarks.FromData(segs, raws)
}

func describe(w *benchmarks.Workload, c benchmarks.Config, segFile, conFile string) string {
	var s string
	if segFile != "" {
		s = fmt.Sprintf("%d segments from %s", len(w.Segments), segFile)
	} else {
		s = fmt.Sprintf("%d generated segments (3-5 conditions, %d fields, overlap %.2f, seed %d)", len(w.Segments), c.Fields, c.Overlap, c.Seed)
	}
	if conFile != "" {
		return s + fmt.Sprintf(", %d contacts from %s (~%d bytes)", len(w.Raw), conFile, w.AvgBytes())
	}
	return s + fmt.Sprintf(", %d generated contacts of ~%d bytes", len(w.Raw), w.AvgBytes())
}

// coresShort reports whether a stream run kept fewer cores busy than its
// workers could: under 90% of one core a worker (the reader goroutine
// and the GC add a little, so a run on free cores gets its count).
func coresShort(cores float64, workers int) bool {
	return cores < 0.9*float64(workers)
}

func pluralWord(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// machine is what a report says about where it was measured.
type machine struct {
	date  time.Time
	cpu   string // the CPU model, or why it is unknown
	load  string // the 1, 5 and 15 minute load averages, or "unknown"
	load1 string // the 1 minute one, or "unknown"
}

// readMachine reads the CPU model (/proc/cpuinfo's first "model name")
// and the load averages (/proc/loadavg), which Linux has; elsewhere they
// are unknown.
func readMachine(now time.Time) machine {
	m := machine{date: now.UTC(), cpu: "unknown", load: "unknown", load1: "unknown"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.cpu = cpuModel(data)
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			m.load, m.load1 = strings.Join(f[:3], " ")+" (1, 5, 15 min)", f[0]
		}
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo's text, or
// "unknown" (some ARM kernels name no model).
func cpuModel(cpuinfo []byte) string {
	for line := range strings.SplitSeq(string(cpuinfo), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			if v = strings.Join(strings.Fields(v), " "); v != "" {
				return v
			}
		}
	}
	return "unknown"
}

// writeMarkdown writes the report's header lines: date, Go, CPU, load.
func (m machine) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Date: %s  \nGo: %s (%s/%s)  \nCPU: %s, %d logical CPUs  \nLoad average at the start: %s\n",
		m.date.Format(time.RFC3339), runtime.Version(), runtime.GOOS, runtime.GOARCH, m.cpu, runtime.NumCPU(), m.load)
}
