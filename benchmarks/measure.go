package benchmarks

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// Result is one backend's measurement over a workload.
type Result struct {
	Backend  string
	Segments int
	Contacts int64 // contacts classified in the timed run
	Elapsed  time.Duration
	Ns       float64 // ns per contact (wall clock)
	CPUNs    float64 // process CPU ns per contact (GC included; 0 where unknown)
	PerSec   float64 // contacts per second
	Allocs   float64 // heap allocations per contact
	Bytes    float64 // heap bytes allocated per contact
	Matches  float64 // mean number of segments a contact is in
	Floor    bool    // a validate-only backend (NewFloor), which answers no segment
	Err      error   // the backend could not run this workload (then nothing else is set)
}

// Ratio is r's time per contact over base's (how many times slower r is).
func (r Result) Ratio(base Result) float64 {
	if base.Ns == 0 {
		return 0
	}
	return r.Ns / base.Ns
}

// Cost is the CPU ns per contact where known, else the wall ns.
func (r Result) Cost() float64 {
	if r.CPUNs > 0 {
		return r.CPUNs
	}
	return r.Ns
}

// CPURatio is Ratio on process CPU time, which a loaded machine disturbs
// less than wall time (and which counts the garbage collector's work on
// other cores).
func (r Result) CPURatio(base Result) float64 {
	if base.CPUNs == 0 {
		return 0
	}
	return r.CPUNs / base.CPUNs
}

// MeasureOptions bounds a measurement: it runs for at least Duration and
// at least MinContacts contacts, after a warm-up pass (not timed) over
// the first Warmup contacts.
type MeasureOptions struct {
	Duration    time.Duration // default 1s
	MinContacts int           // default 200
	Warmup      int           // default 200 (at most the number of contacts)
}

// Measure times b over raws on the calling goroutine. Allocations are
// runtime.MemStats deltas over the timed run.
func Measure(b Backend, segments int, raws [][]byte, opt MeasureOptions) Result {
	_, floor := b.(*floorBackend)
	res := Result{Backend: b.Name(), Segments: segments, Floor: floor}
	if opt.Duration <= 0 {
		opt.Duration = time.Second
	}
	if opt.MinContacts <= 0 {
		opt.MinContacts = 200
	}
	if opt.Warmup <= 0 {
		opt.Warmup = 200
	}
	dst := make([]bool, segments)
	// warm-up (also the mean number of matches)
	hits := 0
	warm := raws[:min(opt.Warmup, len(raws))]
	for _, raw := range warm {
		if err := b.Classify(raw, dst); err != nil {
			res.Err = err
			return res
		}
		for _, m := range dst {
			if m {
				hits++
			}
		}
	}
	res.Matches = float64(hits) / float64(len(warm))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	start := time.Now()
	n := 0
	for {
		for range 16 {
			b.Classify(raws[n%len(raws)], dst)
			n++
		}
		if n >= opt.MinContacts && time.Since(start) >= opt.Duration {
			break
		}
	}
	res.Elapsed = time.Since(start)
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&after)
	res.Contacts = int64(n)
	res.Ns = float64(res.Elapsed.Nanoseconds()) / float64(n)
	res.PerSec = 1e9 / res.Ns
	res.CPUNs = float64(cpu.Nanoseconds()) / float64(n)
	res.Allocs = float64(after.Mallocs-before.Mallocs) / float64(n)
	res.Bytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	return res
}

// MeasureAll prepares and measures every named backend on w, one after
// the other. A backend that cannot be prepared gets a Result with Err.
func MeasureAll(w *Workload, names []string, opt MeasureOptions, opts ...segmatch.Option) []Result {
	var out []Result
	for _, name := range names {
		b, err := New(name, w.Segments, opts...)
		if err != nil {
			out = append(out, Result{Backend: name, Segments: len(w.Segments), Err: err, Floor: IsFloor(name)})
			continue
		}
		out = append(out, Measure(b, len(w.Segments), w.Raw, opt))
		runtime.GC()
	}
	return out
}

// Disagreement is a contact and segment where a backend's answer differs
// from the engine's.
type Disagreement struct {
	Backend string
	Contact int // index in the workload
	Segment int
	Engine  bool // the engine's answer
}

func (d Disagreement) String() string {
	return fmt.Sprintf("%s: contact %d, segment %d: engine says %v", d.Backend, d.Contact, d.Segment, d.Engine)
}

// Agree runs every backend (that can be prepared) over every contact of w
// and returns where each differs from the engine (at most limit).
func Agree(w *Workload, names []string, limit int, opts ...segmatch.Option) ([]Disagreement, error) {
	ref, err := NewEngine(w.Segments, opts...)
	if err != nil {
		return nil, err
	}
	want := make([][]bool, len(w.Raw))
	for i, raw := range w.Raw {
		want[i] = make([]bool, len(w.Segments))
		if err := ref.Classify(raw, want[i]); err != nil {
			return nil, fmt.Errorf("contact %d: %w", i, err)
		}
	}
	var out []Disagreement
	got := make([]bool, len(w.Segments))
	for _, name := range names {
		if name == Engine || IsFloor(name) {
			continue
		}
		b, err := New(name, w.Segments, opts...)
		if err != nil {
			continue // reported by MeasureAll
		}
		for i, raw := range w.Raw {
			if err := b.Classify(raw, got); err != nil {
				return out, fmt.Errorf("%s: contact %d: %w", name, i, err)
			}
			for s := range got {
				if got[s] != want[i][s] && len(out) < limit {
					out = append(out, Disagreement{Backend: name, Contact: i, Segment: s, Engine: want[i][s]})
				}
			}
		}
	}
	return out, nil
}

// StreamResult is one engine.ClassifyStream measurement.
type StreamResult struct {
	Workers  int
	Contacts int64
	Elapsed  time.Duration
	Ns       float64 // wall ns per contact
	PerSec   float64
	CPU      time.Duration // process CPU time over the stream
}

// Cores is the mean number of cores the process kept busy: CPU time over
// wall time. Two workers that get well under 2 on a 2-core machine are
// short of cores (other processes) or of work (the reader).
func (r StreamResult) Cores() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.CPU) / float64(r.Elapsed)
}

// MeasureStream streams in through eng.ClassifyStream with the given
// number of workers; the sink only counts matches.
func MeasureStream(eng *engine.Engine, in io.Reader, workers int) (StreamResult, error) {
	var hits int
	cpu0 := processCPU()
	start := time.Now()
	st, err := eng.ClassifyStream(context.Background(), in, func(l *engine.Line) error {
		if l.Err != nil {
			return l.Err
		}
		hits += l.Result.Count()
		return nil
	}, engine.StreamOptions{Workers: workers})
	el := time.Since(start)
	r := StreamResult{Workers: workers, Contacts: st.Contacts, Elapsed: el, CPU: processCPU() - cpu0}
	if st.Contacts > 0 {
		r.Ns = float64(el.Nanoseconds()) / float64(st.Contacts)
		r.PerSec = 1e9 / r.Ns
	}
	return r, err
}

// PeakRSS is the process's peak resident set size in bytes (VmHWM of
// /proc/self/status), or 0 where that is not available.
func PeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// SegmentsOf returns the first n segments of segs (a sweep reuses one
// generated list: GenerateSegments' first n are the same for any total).
func SegmentsOf(segs []filter.Segment, n int) []filter.Segment { return segs[:min(n, len(segs))] }
