package benchmarks

import (
	"fmt"
	"io"
	"strings"
)

// WriteTable prints results as an aligned text table with each backend's
// ratio to the engine (the first result named "engine").
func WriteTable(w io.Writer, results []Result) {
	base := baseOf(results)
	fmt.Fprintf(w, "%-13s %11s %11s %11s %9s %9s %9s %9s\n", "backend", "contacts/s", "ns/contact", "cpu ns/c", "allocs/c", "bytes/c", "x engine", "cpu x")
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(w, "%-13s skipped: %v\n", r.Backend, r.Err)
			continue
		}
		fmt.Fprintf(w, "%-13s %11.0f %11.0f %11.0f %9.1f %9.0f %8.2fx %8.2fx\n", r.Backend, r.PerSec, r.Ns, r.CPUNs, r.Allocs, r.Bytes, r.Ratio(base), r.CPURatio(base))
	}
	if f, ok := FloorOf(results); ok {
		fmt.Fprintf(w, "engine / fastest validate-only (%s): %.2fx wall, %.2fx CPU\n", f.Backend, base.Ratio(f), base.CPURatio(f))
	}
}

// WriteMarkdownTable is WriteTable as a Markdown table.
func WriteMarkdownTable(w io.Writer, results []Result) {
	base := baseOf(results)
	fmt.Fprintln(w, "| backend | contacts/s | µs/contact | CPU µs/contact | allocs/contact | bytes/contact | time × engine | CPU × engine |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(w, "| %s | skipped: %s | | | | | | |\n", r.Backend, mdCell(r.Err.Error()))
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f | %.1f | %.0f | %.2f× | %.2f× |\n", r.Backend, r.PerSec, r.Ns/1000, r.CPUNs/1000, r.Allocs, r.Bytes, r.Ratio(base), r.CPURatio(base))
	}
	if f, ok := FloorOf(results); ok {
		fmt.Fprintf(w, "\nThe engine takes %.2f× the time (%.2f× the CPU) of the fastest validate-only backend, %s.\n", base.Ratio(f), base.CPURatio(f), f.Backend)
	}
}

// FloorOf is the fastest validate-only backend (Result.Floor) of results,
// by Cost, when the engine was measured too.
func FloorOf(results []Result) (Result, bool) {
	if _, ok := find(results, Engine); !ok {
		return Result{}, false
	}
	var best Result
	found := false
	for _, r := range results {
		if r.Err == nil && r.Floor && r.Cost() > 0 && (!found || r.Cost() < best.Cost()) {
			best, found = r, true
		}
	}
	return best, found
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func baseOf(results []Result) Result {
	for _, r := range results {
		if r.Backend == Engine && r.Err == nil {
			return r
		}
	}
	return Result{}
}

// Sweep is the measurements of every backend at each segment count.
type Sweep struct {
	Counts  []int
	Results map[int][]Result // by segment count
}

// WriteSweepTable prints the cost per contact (Result.Cost: process CPU
// time, else wall time) of each backend (rows) at each segment count
// (columns), and the engine's growth between counts.
func WriteSweepTable(w io.Writer, s Sweep, markdown bool) {
	names := sweepNames(s)
	if markdown {
		fmt.Fprint(w, "| backend |")
		for _, c := range s.Counts {
			fmt.Fprintf(w, " %d segments |", c)
		}
		fmt.Fprint(w, "\n|---|")
		for range s.Counts {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "%-13s", "cpu ns/c")
		for _, c := range s.Counts {
			fmt.Fprintf(w, " %14s", fmt.Sprintf("%d segments", c))
		}
		fmt.Fprintln(w)
	}
	for _, name := range names {
		if markdown {
			fmt.Fprintf(w, "| %s |", name)
		} else {
			fmt.Fprintf(w, "%-13s", name)
		}
		for _, c := range s.Counts {
			r, ok := find(s.Results[c], name)
			switch {
			case !ok || r.Err != nil:
				if markdown {
					fmt.Fprint(w, " – |")
				} else {
					fmt.Fprintf(w, " %14s", "-")
				}
			case markdown:
				fmt.Fprintf(w, " %.2f |", r.Cost()/1000)
			default:
				fmt.Fprintf(w, " %14.0f", r.Cost())
			}
		}
		fmt.Fprintln(w)
	}
	for i := 1; i < len(s.Counts); i++ {
		a, oka := find(s.Results[s.Counts[i-1]], Engine)
		b, okb := find(s.Results[s.Counts[i]], Engine)
		if oka && okb && a.Cost() > 0 {
			if markdown {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "engine: %d → %d segments costs %.2f×\n", s.Counts[i-1], s.Counts[i], b.Cost()/a.Cost())
		}
	}
	for _, c := range s.Counts {
		e, ok := find(s.Results[c], Engine)
		f, okf := FloorOf(s.Results[c])
		if ok && okf {
			if markdown {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "engine at %d segments / fastest validate-only (%s): %.2f×\n", c, f.Backend, e.Cost()/f.Cost())
		}
	}
}

func sweepNames(s Sweep) []string {
	seen := map[string]bool{}
	var names []string
	for _, c := range s.Counts {
		for _, r := range s.Results[c] {
			if !seen[r.Backend] {
				seen[r.Backend] = true
				names = append(names, r.Backend)
			}
		}
	}
	return names
}

func find(rs []Result, name string) (Result, bool) {
	for _, r := range rs {
		if r.Backend == name {
			return r, r.Err == nil
		}
	}
	return Result{}, false
}

// WriteSVG draws throughput (contacts per CPU second, or per second where
// CPU time is unknown; log scale) against the number of segments (log
// scale), one line per backend (WriteChart).
func WriteSVG(w io.Writer, s Sweep) error {
	c := Chart{Title: "Throughput against segment count (one goroutine, log scales)",
		Width: 720, Height: 440, Legend: 150, Counts: s.Counts}
	for _, name := range sweepNames(s) {
		l := Line{Name: name, Points: map[int]float64{}}
		for _, n := range s.Counts {
			if r, ok := find(s.Results[n], name); ok && r.Err == nil && r.Cost() > 0 {
				l.Points[n] = 1e9 / r.Cost()
			}
		}
		c.Lines = append(c.Lines, l)
	}
	return WriteChart(w, c)
}
