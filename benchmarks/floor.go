package benchmarks

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"
)

// Interleaving is MeasureInterleaved's record: per backend, the cost per
// contact of each of its batches, the k-th batches of all backends
// having run one after the other.
type Interleaving struct {
	Names   []string
	Batches [][]float64 // [backend][batch] ns per contact
	Clock   string      // what was timed: "thread CPU" or "wall"
	Cycles  int         // batches of each backend
	Errs    []error     // per backend: why it could not run (then no batches)
}

// MeasureInterleaved times the backends bs over raws in alternation, on
// this goroutine locked to its thread: each classifies a batch of
// contacts (sized in a warm-up to take about batch), then the next does,
// until total has passed. Each batch is timed in the thread's CPU time
// (wall time where that is unknown). On a shared machine, whatever load
// comes and goes falls on neighbouring batches alike, so the ratio of two
// backends' batches of one cycle, and its median over the cycles, is far
// steadier than the ratio of two separate long runs.
func MeasureInterleaved(bs []Backend, segments int, raws [][]byte, total, batch time.Duration) Interleaving {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock, clockName := threadCPU, "thread CPU"
	if clock() == 0 {
		start := time.Now()
		clock, clockName = func() time.Duration { return time.Since(start) }, "wall"
	}
	iv := Interleaving{Names: make([]string, len(bs)), Batches: make([][]float64, len(bs)), Errs: make([]error, len(bs)), Clock: clockName}
	dst := make([]bool, segments)
	sizes := make([]int, len(bs))
	for k, b := range bs {
		iv.Names[k] = b.Name()
		for _, raw := range raws { // warm-up, and a check
			if err := b.Classify(raw, dst); err != nil {
				iv.Errs[k] = err
				break
			}
		}
		// a batch size that takes about batch
		n := 16
		for iv.Errs[k] == nil {
			t0 := clock()
			for i := range n {
				b.Classify(raws[i%len(raws)], dst)
			}
			if el := clock() - t0; el >= batch/4 || n >= 1<<24 {
				sizes[k] = max(1, int(float64(n)*float64(batch)/float64(max(el, 1))))
				break
			}
			n *= 4
		}
	}
	start := time.Now()
	next := make([]int, len(bs)) // the next contact of each backend
	for ; time.Since(start) < total || iv.Cycles < 3; iv.Cycles++ {
		for k, b := range bs {
			if iv.Errs[k] != nil {
				continue
			}
			n, i := sizes[k], next[k]
			t0 := clock()
			for range n {
				b.Classify(raws[i], dst)
				if i++; i == len(raws) {
					i = 0
				}
			}
			el := clock() - t0
			next[k] = i
			iv.Batches[k] = append(iv.Batches[k], float64(el.Nanoseconds())/float64(n))
		}
	}
	return iv
}

// Median is backend k's median cost per contact over its batches.
func (iv Interleaving) Median(k int) float64 { return median(iv.Batches[k]) }

// Ratio is the median, over the cycles, of backend a's cost per contact
// over backend b's in the same cycle.
func (iv Interleaving) Ratio(a, b int) float64 {
	n := min(len(iv.Batches[a]), len(iv.Batches[b]))
	rs := make([]float64, 0, n)
	for c := range n {
		if iv.Batches[b][c] > 0 {
			rs = append(rs, iv.Batches[a][c]/iv.Batches[b][c])
		}
	}
	return median(rs)
}

// Spread is the 10th and 90th percentiles of Ratio's per-cycle ratios.
func (iv Interleaving) Spread(a, b int) (lo, hi float64) {
	n := min(len(iv.Batches[a]), len(iv.Batches[b]))
	rs := make([]float64, 0, n)
	for c := range n {
		if iv.Batches[b][c] > 0 {
			rs = append(rs, iv.Batches[a][c]/iv.Batches[b][c])
		}
	}
	if len(rs) == 0 {
		return 0, 0
	}
	slices.Sort(rs)
	return rs[len(rs)/10], rs[len(rs)*9/10]
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

// WriteFloorReport prints an Interleaving in which bs[0] is the engine
// and floors are the names of the validate-only backends: each backend's
// median cost per contact and its ratio to the engine, then the engine's
// ratio to each floor and to the fastest one (issue 14 item 7's target:
// at most 5x).
func WriteFloorReport(w io.Writer, iv Interleaving, floors []string) {
	eng := slices.Index(iv.Names, Engine)
	fmt.Fprintf(w, "%d cycles, %s time per batch; median per contact:\n", iv.Cycles, iv.Clock)
	for k, name := range iv.Names {
		if iv.Errs[k] != nil {
			fmt.Fprintf(w, "  %-15s skipped: %v\n", name, iv.Errs[k])
			continue
		}
		fmt.Fprintf(w, "  %-15s %8.0f ns", name, iv.Median(k))
		if eng >= 0 && k != eng {
			fmt.Fprintf(w, "   %5.2fx engine", iv.Ratio(k, eng))
		}
		fmt.Fprintln(w)
	}
	if eng < 0 {
		return
	}
	fastest, best := -1, 0.0
	for k, name := range iv.Names {
		if iv.Errs[k] != nil || !slices.Contains(floors, name) {
			continue
		}
		r := iv.Ratio(eng, k)
		lo, hi := iv.Spread(eng, k)
		fmt.Fprintf(w, "engine / %-15s %5.2fx (per-cycle 10-90%%: %.2f-%.2f)\n", name, r, lo, hi)
		if fastest < 0 || iv.Median(k) < best {
			fastest, best = k, iv.Median(k)
		}
	}
	if fastest >= 0 {
		fmt.Fprintf(w, "engine / fastest validate-only (%s): %.2fx (target <= 5)\n", iv.Names[fastest], iv.Ratio(eng, fastest))
	}
}

// FloorSettings reads SEGMATCH_FLOOR_DURATION (default 20s), the total
// time of a floor measurement, and SEGMATCH_FLOOR_BATCH (default 5ms),
// the time of one backend's batch.
func FloorSettings() (total, batch time.Duration) {
	total, batch = 20*time.Second, 5*time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("SEGMATCH_FLOOR_DURATION")); err == nil && d > 0 {
		total = d
	}
	if d, err := time.ParseDuration(os.Getenv("SEGMATCH_FLOOR_BATCH")); err == nil && d > 0 {
		batch = d
	}
	return total, batch
}
