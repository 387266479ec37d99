package benchmarks

import (
	"fmt"
	"io"
	"math"
	"sort"
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

var palette = []string{"#1b6ca8", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#30638e", "#66a182"}

// WriteSVG draws throughput (contacts per CPU second, or per second where
// CPU time is unknown; log scale) against the number of segments (log
// scale), one line per backend: a small hand-written SVG.
func WriteSVG(w io.Writer, s Sweep) error {
	const (
		width, height         = 720.0, 440.0
		left, right, top, bot = 80.0, 150.0, 40.0, 60.0
		plotW, plotH          = width - left - right, height - top - bot
	)
	names := sweepNames(s)
	counts := append([]int(nil), s.Counts...)
	sort.Ints(counts)
	if len(counts) == 0 {
		return fmt.Errorf("benchmarks: empty sweep")
	}
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, c := range counts {
		for _, r := range s.Results[c] {
			if r.Err == nil && r.Cost() > 0 {
				minY, maxY = math.Min(minY, 1e9/r.Cost()), math.Max(maxY, 1e9/r.Cost())
			}
		}
	}
	if math.IsInf(minY, 0) {
		return fmt.Errorf("benchmarks: nothing measured")
	}
	lo, hi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if hi == lo {
		hi++
	}
	xlo, xhi := math.Log10(float64(counts[0])), math.Log10(float64(counts[len(counts)-1]))
	if xhi == xlo {
		xlo, xhi = xlo-0.5, xhi+0.5
	}
	x := func(c int) float64 { return left + (math.Log10(float64(c))-xlo)/(xhi-xlo)*plotW }
	y := func(v float64) float64 { return top + (hi-math.Log10(v))/(hi-lo)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15" font-weight="bold">Throughput against segment count (one goroutine, log scales)</text>`+"\n", left)
	for e := lo; e <= hi; e++ {
		yy := y(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, left+plotW, yy)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, yy+4, siLabel(math.Pow(10, e)))
	}
	for _, c := range counts {
		xx := x(c)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", xx, top, xx, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", xx, top+plotH+18, c)
	}
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">segments</text>`+"\n", left+plotW/2, height-18)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">contacts per CPU second</text>`+"\n", top+plotH/2)
	for i, name := range names {
		color := palette[i%len(palette)]
		var pts []string
		for _, c := range counts {
			if r, ok := find(s.Results[c], name); ok && r.Cost() > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(c), y(1e9/r.Cost())))
			}
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		}
		for _, p := range pts {
			var px, py float64
			fmt.Sscanf(p, "%f,%f", &px, &py)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", px, py, color)
		}
		ly := top + 10 + float64(i)*20
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", left+plotW+12, ly, left+plotW+32, ly, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+plotW+38, ly+4, name)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func siLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}
