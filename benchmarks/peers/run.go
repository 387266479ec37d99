package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
)

// Config is one run of the comparison.
type Config struct {
	Counts   []int         // segment counts of the sweep
	Contacts int           // distinct contacts: every one is checked, the timing cycles over them
	Seed     uint64        // workload seed
	Rounds   int           // interleaved rounds
	Batch    time.Duration // about how long one backend's batch of one round takes
	Only     []string      // peers to run (names); empty: all
	Native   bool          // also time the pre-decoded entry
	Log      func(format string, args ...any)
}

// Built is one backend prepared for one segment count, with its checks.
type Built struct {
	Name      string
	Floor     bool
	Baseline  bool  // an engine (the whole list, or a peer's subset)
	Idx       []int // the segments it answers (indexes into the count's list)
	Total     int   // segments at this count
	Peer      Peer
	Err       error // could not be built
	Compile   time.Duration
	Heap      int64          // live heap it holds after compile (bytes)
	Why       map[string]int // reasons segments were not expressible
	Pairs     int            // (contact, segment) pairs checked, per entry
	Disagree  [2]int         // pairs that differ from the engine: raw, pre-decoded
	Example   string         // the first disagreement
	RawErrors int            // contacts its raw entry refused
}

// Agrees reports whether b answered every pair it was checked on as the
// engine did (floors are not checked).
func (b *Built) Agrees() bool { return b.Err == nil && b.Disagree == [2]int{} && b.RawErrors == 0 }

// Row is one backend's timing in one entry: per round, ns per contact.
type Row struct {
	Name     string
	Segments int
	Floor    bool
	CPU      []float64 // process CPU time (getrusage), GC on every thread included
	Wall     []float64
	Ratio    float64 // median over rounds of CPU / the engine's CPU in the same round
	Base     string  // what Ratio is against
	BaseR    float64 // median CPU ratio to the engine on the same segments (a peer with a subset)
}

// Count is everything measured at one segment count.
type Count struct {
	N      int
	Built  []*Built
	Raw    []Row
	Native []Row
}

// Report is a whole run.
type Report struct {
	Config           Config
	Workload         string
	CPUModel         string
	LoadBefore, Load string
	Started          time.Time
	Took             time.Duration
	Counts           []Count
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	n := 0
	model := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			model = strings.TrimSpace(v)
		case "processor":
			n++
		}
	}
	if model == "" {
		model = runtime.GOARCH
	}
	return fmt.Sprintf("%s (%d logical CPUs)", model, n)
}

func heapNow() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// build prepares one backend over the segments of segs at idx, timing
// the build and the live heap it keeps.
func build(name string, segs []filter.Segment, idx []int, sc Schema, f func([]filter.Segment, Schema) (Peer, error)) *Built {
	sub := make([]filter.Segment, len(idx))
	for i, j := range idx {
		sub[i] = segs[j]
	}
	b := &Built{Name: name, Idx: idx, Total: len(segs)}
	h0 := heapNow()
	t0 := time.Now()
	b.Peer, b.Err = f(sub, sc)
	b.Compile = time.Since(t0)
	b.Heap = heapNow() - h0
	return b
}

// Prepare builds the engine over segs and every peer kind (cfg.Only)
// over the segments it expresses, then an engine over each distinct
// subset a peer took, so that its time can be put beside the engine's
// on the same segments.
func Prepare(segs []filter.Segment, sc Schema, kinds []Kind) []*Built {
	all := make([]int, len(segs))
	for i := range all {
		all[i] = i
	}
	eng := build(Engine, segs, all, sc, func(s []filter.Segment, _ Schema) (Peer, error) { return NewEngine(s) })
	eng.Baseline = true
	out := []*Built{eng}
	subsets := map[string]bool{}
	var extra []*Built
	for _, k := range kinds {
		idx := all
		why := map[string]int{}
		if !k.Floor {
			idx = nil
			for i := range segs {
				if err := k.Express(segs[i], sc); err != nil {
					why[reason(err)]++
					continue
				}
				idx = append(idx, i)
			}
		}
		b := build(k.Name, segs, idx, sc, k.Build)
		b.Floor, b.Why = k.Floor, why
		out = append(out, b)
		if !k.Floor && len(idx) > 0 && len(idx) < len(segs) {
			key := fmt.Sprint(idx)
			if !subsets[key] {
				subsets[key] = true
				e := build(subsetName(len(idx)), segs, idx, sc, func(s []filter.Segment, _ Schema) (Peer, error) { return NewEngine(s) })
				e.Baseline = true
				extra = append(extra, e)
			}
		}
	}
	return append(out, extra...)
}

func subsetName(n int) string { return fmt.Sprintf("engine (%d segments)", n) }

func reason(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, errInexpressible.Error()+": ")
	if strings.Contains(s, "holds another type") {
		return "field of another type"
	}
	if strings.HasPrefix(s, "field ") {
		return "path"
	}
	return s
}

// Check runs every built peer over every contact, raw and pre-decoded,
// against the engine's answers (bs[0]).
func Check(bs []*Built, raws [][]byte) {
	want := make([][]bool, len(raws))
	for i, raw := range raws {
		want[i] = make([]bool, bs[0].Total)
		if err := bs[0].Peer.Raw(raw, want[i]); err != nil {
			panic(fmt.Sprintf("engine refuses generated contact %d: %v", i, err))
		}
	}
	for _, b := range bs[1:] {
		if b.Err != nil || b.Floor || b.Baseline || len(b.Idx) == 0 {
			continue
		}
		got := make([]bool, len(b.Idx))
		for ci, raw := range raws {
			b.Pairs += len(b.Idx)
			if err := b.Peer.Raw(raw, got); err != nil {
				b.RawErrors++
				if b.Example == "" {
					b.Example = fmt.Sprintf("contact %d refused: %v", ci, err)
				}
			} else {
				b.diff(0, ci, got, want[ci])
			}
			x, err := b.Peer.Decode(raw)
			if err != nil {
				b.RawErrors++
				continue
			}
			clear(got)
			b.Peer.Native(x, got)
			b.diff(1, ci, got, want[ci])
		}
	}
}

func (b *Built) diff(entry, ci int, got, want []bool) {
	for j, s := range b.Idx {
		if got[j] != want[s] {
			b.Disagree[entry]++
			if b.Example == "" {
				e := "raw"
				if entry == 1 {
					e = "pre-decoded"
				}
				b.Example = fmt.Sprintf("%s: contact %d, segment %d: engine says %v", e, ci, s, want[s])
			}
		}
	}
}

// timed is one backend of an interleaving.
type timed struct {
	name     string
	segments int
	floor    bool
	run      func(i int, dst []bool) // classify contact i
	n        int                     // contacts per batch
	dst      []bool
	cpu      []float64
	wall     []float64
	base     int // index of the engine on the same segments (-1: none)
}

// interleave times ts in rounds: in each, every backend classifies one
// batch of contacts (cycling over nContacts), timed in process CPU time
// (getrusage) and wall time, after a runtime.GC() outside the timing (so
// that each batch pays for the collections its own garbage causes, not
// the previous backend's). Load that comes and goes then falls on
// neighbouring batches alike.
func interleave(ts []*timed, nContacts, rounds int, batch time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, t := range ts { // warm-up and batch size
		for i := range min(nContacts, 50) {
			t.run(i, t.dst)
		}
		n := 1
		for {
			t0 := time.Now()
			for i := range n {
				t.run(i%nContacts, t.dst)
			}
			el := time.Since(t0)
			if el >= batch/4 || n >= 1<<22 {
				t.n = max(1, int(float64(n)*float64(batch)/float64(max(el, 1))))
				break
			}
			n *= 4
		}
	}
	next := make([]int, len(ts))
	for range rounds {
		for k, t := range ts {
			i := next[k]
			// finish the collection the previous batch's garbage started,
			// untimed: process CPU time counts every thread, and the
			// engine's batch would otherwise pay for a peer's garbage
			runtime.GC()
			c0, w0 := processCPU(), time.Now()
			for range t.n {
				t.run(i, t.dst)
				if i++; i == nContacts {
					i = 0
				}
			}
			w, c := time.Since(w0), processCPU()-c0
			next[k] = i
			t.cpu = append(t.cpu, float64(c.Nanoseconds())/float64(t.n))
			t.wall = append(t.wall, float64(w.Nanoseconds())/float64(t.n))
		}
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b []float64) float64 {
	var rs []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			rs = append(rs, a[i]/b[i])
		}
	}
	return median(rs)
}

// Measure times, in one interleaving per entry, the engine, the engines
// on peers' subsets, every peer that agreed and (raw entry) the floors.
func Measure(bs []*Built, raws [][]byte, cfg Config) (raw, native []Row) {
	var rts, nts []*timed
	for _, b := range bs {
		if b.Err != nil || len(b.Idx) == 0 || (!b.Floor && !b.Baseline && !b.Agrees()) {
			continue
		}
		p := b.Peer
		rts = append(rts, &timed{name: b.Name, segments: len(b.Idx), floor: b.Floor, base: -1,
			dst: make([]bool, len(b.Idx)), run: func(i int, dst []bool) { p.Raw(raws[i], dst) }})
		if b.Floor || !cfg.Native {
			continue
		}
		xs := make([]any, len(raws))
		for i, r := range raws {
			xs[i], _ = p.Decode(r)
		}
		name := b.Name
		if b.Baseline {
			name = mapsName(b.Name)
		}
		nts = append(nts, &timed{name: name, segments: len(b.Idx), base: -1,
			dst: make([]bool, len(b.Idx)), run: func(i int, dst []bool) { p.Native(xs[i], dst) }})
	}
	total := bs[0].Total
	link := func(ts []*timed, maps bool) {
		names := map[string]int{}
		for k, t := range ts {
			names[t.name] = k
		}
		for _, t := range ts {
			if t.floor || t.segments == total || strings.HasPrefix(t.name, Engine) {
				continue
			}
			want := subsetName(t.segments)
			if maps {
				want = mapsName(want)
			}
			if k, ok := names[want]; ok {
				t.base = k
			}
		}
	}
	link(rts, false)
	link(nts, true)
	rows := func(ts []*timed) []Row {
		var out []Row
		for _, t := range ts {
			r := Row{Name: t.name, Segments: t.segments, Floor: t.floor, CPU: t.cpu, Wall: t.wall,
				Ratio: ratio(t.cpu, ts[0].cpu), Base: ts[0].name}
			if t.base >= 0 {
				r.BaseR = ratio(t.cpu, ts[t.base].cpu)
			}
			out = append(out, r)
		}
		return out
	}
	interleave(rts, len(raws), cfg.Rounds, cfg.Batch)
	raw = rows(rts)
	if len(nts) > 0 {
		interleave(nts, len(raws), cfg.Rounds, cfg.Batch)
		native = rows(nts)
	}
	return raw, native
}

// mapsName is an engine's name in the pre-decoded entry.
func mapsName(engineName string) string {
	return strings.Replace(engineName, Engine, "engine (maps)", 1)
}

// Run generates the workload, then at each segment count prepares,
// checks and times every backend.
func Run(cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if len(cfg.Counts) == 0 {
		return nil, errors.New("no segment counts")
	}
	kinds := Kinds()
	if len(cfg.Only) > 0 {
		kinds = slices.DeleteFunc(kinds, func(k Kind) bool { return !slices.Contains(cfg.Only, k.Name) })
	}
	maxN := slices.Max(cfg.Counts)
	w, err := benchmarks.Generate(benchmarks.Config{Segments: maxN, Contacts: cfg.Contacts, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	sc := NewSchema(w.Segments, w.Maps)
	rep := &Report{Config: cfg, CPUModel: cpuModel(), LoadBefore: loadAvg(), Started: time.Now().UTC(),
		Workload: fmt.Sprintf("benchmarks.Generate (seed %d): the first n of %d generated segments (3-5 conditions, ¾ all, ¼ any, 16 fields); %d contacts of ~%d bytes",
			w.Config.Seed, maxN, len(w.Raw), w.AvgBytes())}
	for _, n := range cfg.Counts {
		segs := benchmarks.SegmentsOf(w.Segments, n)
		cfg.Log("%d segments: building...", n)
		bs := Prepare(segs, sc, kinds)
		for _, b := range bs {
			if b.Err != nil {
				cfg.Log("  %s: not built: %v", b.Name, b.Err)
			}
		}
		cfg.Log("%d segments: checking agreement on %d contacts...", n, len(w.Raw))
		Check(bs, w.Raw)
		for _, b := range bs {
			if !b.Floor && !b.Baseline && b.Err == nil && !b.Agrees() {
				cfg.Log("  %s DISAGREES: %d raw, %d pre-decoded pairs; %s", b.Name, b.Disagree[0], b.Disagree[1], b.Example)
			}
		}
		cfg.Log("%d segments: timing %d rounds...", n, cfg.Rounds)
		raw, native := Measure(bs, w.Raw, cfg)
		rep.Counts = append(rep.Counts, Count{N: n, Built: bs, Raw: raw, Native: native})
		for _, b := range bs {
			b.Peer = nil // let the count's backends go
		}
		runtime.GC()
	}
	rep.Load = loadAvg()
	rep.Took = time.Since(rep.Started)
	return rep, nil
}

// ParseCounts reads "10,100,1000".
func ParseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad segment count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
