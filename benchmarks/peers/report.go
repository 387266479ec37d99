package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/segmatch/segmatch/benchmarks"
)

func us(ns float64) string {
	switch v := ns / 1000; {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// kb is a heap size in KiB (a build can free more than it keeps: 0).
func kb(b int64) string { return fmt.Sprintf("%d", max(b, 0)>>10) }

func ms(b *Built) string { return fmt.Sprintf("%.1f", float64(b.Compile.Microseconds())/1000) }

// verdict is a peer's line in the agreement table.
func verdict(b *Built) string {
	switch {
	case b.Baseline:
		return "reference"
	case b.Floor:
		return "validate-only floor (answers no segment)"
	case b.Err != nil:
		return "not built: " + mdCell(b.Err.Error())
	case len(b.Idx) == 0:
		return "expresses no segment: not timed"
	case b.Agrees():
		return "agrees"
	}
	s := fmt.Sprintf("**DISAGREES** (%d raw, %d pre-decoded pairs; %s): not timed", b.Disagree[0], b.Disagree[1], mdCell(b.Example))
	if b.RawErrors > 0 {
		s += fmt.Sprintf("; %d contacts refused", b.RawErrors)
	}
	return s
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func whyCell(why map[string]int) string {
	var ks []string
	for k := range why {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return why[ks[i]] > why[ks[j]] || why[ks[i]] == why[ks[j]] && ks[i] < ks[j] })
	var out []string
	for _, k := range ks {
		out = append(out, fmt.Sprintf("%s: %d", k, why[k]))
	}
	return mdCell(strings.Join(out, "; "))
}

// WriteMarkdown writes the whole report.
func WriteMarkdown(w io.Writer, r *Report, args []string, charts bool) {
	c := r.Config
	fmt.Fprintf(w, "# segmatch against its peers\n\n")
	fmt.Fprintf(w, "`cd benchmarks/peers && go run . %s`\n\n", strings.Join(args, " "))
	fmt.Fprintf(w, "%s UTC, %s, %s/%s, GOMAXPROCS %d, one goroutine.  \n", r.Started.Format("2006-01-02 15:04"), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "CPU: %s. Load average (1, 5, 15 min) before: %s, after: %s. Took %s.  \n", r.CPUModel, r.LoadBefore, r.Load, r.Took.Round(1e9))
	fmt.Fprintf(w, "Workload: %s.\n\n", r.Workload)
	fmt.Fprintf(w, "Every backend is a translation of the same segments. A translator says per segment whether it expresses it exactly "+
		"(SEMANTICS.md: missing vs null, numeric strings, fan-out over arrays, the field types the contacts hold); what it cannot express is counted, never timed. "+
		"Before any timing, every peer answers every (contact, segment) pair it expresses, raw and pre-decoded, and is compared with the engine; "+
		"one that differs anywhere is reported and not timed. "+
		"Then %d interleaved rounds per entry: in each, every backend classifies a batch of contacts (~%v) in turn, timed in process CPU time (getrusage: "+
		"the garbage collector's work on other threads included; a runtime.GC() before each batch, untimed, so that no batch pays for the previous one's garbage) and wall time; per contact, the median and the minimum over rounds. "+
		"`× engine` is the median over rounds of the backend's CPU time over the engine's in the same round (all segments); "+
		"a peer that expresses only some segments is also put against the engine built on those alone (`× same-segments engine`).\n\n", c.Rounds, c.Batch)
	fmt.Fprintf(w, "Entries: **raw JSON in** (each peer pays its own decode: encoding/json for the map-based peers, sonic for one closure variant, "+
		"LaunchDarkly's own JSON reader into an `ldcontext.Context`), and **pre-decoded** (each peer's native form made once, untimed: maps, "+
		"`ldcontext.Context`, a CEL activation, a GrowthBook child client holding the attributes; the engine's is `ClassifyMapInto` on maps).\n\n")

	// coverage across counts
	fmt.Fprintf(w, "## Agreement and coverage\n\n| backend |")
	for _, cn := range r.Counts {
		fmt.Fprintf(w, " %d segments |", cn.N)
	}
	fmt.Fprintf(w, " disagreeing pairs | verdict (last count) | not expressible, why (last count) |\n|---|")
	for range r.Counts {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|---|---|")
	last := r.Counts[len(r.Counts)-1]
	for bi, b := range last.Built {
		if b.Baseline && bi > 0 {
			continue
		}
		fmt.Fprintf(w, "| %s |", b.Name)
		dis := 0
		for _, cn := range r.Counts {
			x := find(cn.Built, b.Name)
			if x == nil {
				fmt.Fprint(w, " – |")
				continue
			}
			dis += x.Disagree[0] + x.Disagree[1]
			switch {
			case x.Floor:
				fmt.Fprint(w, " – |")
			case x.Err != nil:
				fmt.Fprintf(w, " not built (%d) |", len(x.Idx))
			case !x.Baseline && !x.Agrees():
				fmt.Fprintf(w, " %d, **disagrees** |", len(x.Idx))
			default:
				fmt.Fprintf(w, " %d |", len(x.Idx))
			}
		}
		pairs := "–"
		if !b.Floor && !b.Baseline {
			pairs = fmt.Sprint(dis)
		}
		fmt.Fprintf(w, " %s | %s | %s |\n", pairs, verdict(b), whyCell(b.Why))
	}
	fmt.Fprintf(w, "\nPairs checked per entry at %d segments: %d contacts × the segments each expresses.\n", last.N, c.Contacts)

	for _, cn := range r.Counts {
		fmt.Fprintf(w, "\n## %d segments\n\n### Raw JSON in\n\n", cn.N)
		writeRows(w, cn.Raw, cn, true)
		if len(cn.Native) > 0 {
			fmt.Fprintf(w, "\n### Pre-decoded (each peer's native form)\n\n")
			writeRows(w, cn.Native, cn, false)
		}
	}

	fmt.Fprintf(w, "\n## Sweep over segment count\n\nCPU µs per contact (median over rounds), raw JSON in; a peer's figure is for the segments it expresses (coverage above):\n\n")
	writeSweep(w, r, func(cn Count) []Row { return cn.Raw }, func(x Row) string { return us(median(x.CPU)) })
	if len(r.Counts[0].Native) > 0 {
		fmt.Fprintf(w, "\nPre-decoded, CPU µs per contact (median):\n\n")
		writeSweep(w, r, func(cn Count) []Row { return cn.Native }, func(x Row) string { return us(median(x.CPU)) })
	}
	fmt.Fprintf(w, "\nCompile time (translation and compilation of the segments it expresses), ms:\n\n")
	writeBuiltSweep(w, r, ms)
	fmt.Fprintf(w, "\nLive heap held after compile (after GC), KiB:\n\n")
	writeBuiltSweep(w, r, func(b *Built) string { return kb(b.Heap) })
	if charts {
		fmt.Fprintf(w, "\n## Charts\n\n![raw JSON in: throughput against segment count](throughput.svg)\n\n![pre-decoded: throughput against segment count](native.svg)\n")
	}
}

func find(bs []*Built, name string) *Built {
	for _, b := range bs {
		if b.Name == name {
			return b
		}
	}
	return nil
}

func writeRows(w io.Writer, rows []Row, cn Count, raw bool) {
	fmt.Fprintln(w, "| backend | segments | CPU µs/contact (median) | CPU min | wall µs/contact (median) | wall min | CPU × engine | CPU × same-segments engine | compile ms | heap KiB |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, x := range rows {
		name := x.Name
		if strings.HasPrefix(name, "engine (maps)") {
			name = strings.Replace(name, "engine (maps)", Engine, 1)
		}
		b := find(cn.Built, name)
		comp, heap := "", ""
		if b != nil && raw {
			comp, heap = ms(b), kb(b.Heap)
		}
		segs := fmt.Sprint(x.Segments)
		if x.Floor {
			segs = "–"
		}
		same := ""
		if x.BaseR > 0 {
			same = fmt.Sprintf("%.2f×", x.BaseR)
		}
		bold := ""
		if x.Name == Engine || x.Name == "engine (maps)" {
			bold = "**"
		}
		fmt.Fprintf(w, "| %s%s%s | %s | %s | %s | %s | %s | %.2f× | %s | %s | %s |\n", bold, x.Name, bold, segs,
			us(median(x.CPU)), us(slices.Min(x.CPU)), us(median(x.Wall)), us(slices.Min(x.Wall)), x.Ratio, same, comp, heap)
	}
}

func sweepNames(r *Report, rows func(Count) []Row) []string {
	var names []string
	for _, cn := range r.Counts {
		for _, x := range rows(cn) {
			n := x.Name
			if strings.HasPrefix(n, "engine (") && strings.HasSuffix(n, " segments)") {
				continue // subset engines differ per count
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

func writeSweep(w io.Writer, r *Report, rows func(Count) []Row, cell func(Row) string) {
	fmt.Fprint(w, "| backend |")
	for _, cn := range r.Counts {
		fmt.Fprintf(w, " %d |", cn.N)
	}
	fmt.Fprint(w, "\n|---|")
	for range r.Counts {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, name := range sweepNames(r, rows) {
		fmt.Fprintf(w, "| %s |", name)
		for _, cn := range r.Counts {
			v := "–"
			for _, x := range rows(cn) {
				if x.Name == name {
					v = cell(x)
					if !x.Floor && x.Segments < cn.N {
						v += fmt.Sprintf(" (%d)", x.Segments)
					}
				}
			}
			fmt.Fprintf(w, " %s |", v)
		}
		fmt.Fprintln(w)
	}
}

func writeBuiltSweep(w io.Writer, r *Report, cell func(*Built) string) {
	fmt.Fprint(w, "| backend |")
	for _, cn := range r.Counts {
		fmt.Fprintf(w, " %d |", cn.N)
	}
	fmt.Fprint(w, "\n|---|")
	for range r.Counts {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	last := r.Counts[len(r.Counts)-1]
	for bi, b := range last.Built {
		if b.Floor || (b.Baseline && bi > 0) {
			continue
		}
		fmt.Fprintf(w, "| %s |", b.Name)
		for _, cn := range r.Counts {
			x := find(cn.Built, b.Name)
			if x == nil || x.Err != nil || len(x.Idx) == 0 {
				fmt.Fprint(w, " – |")
				continue
			}
			fmt.Fprintf(w, " %s |", cell(x))
		}
		fmt.Fprintln(w)
	}
}

// WriteText is the short summary printed on stdout: each count's raw and
// pre-decoded medians.
func WriteText(w io.Writer, cn Count) {
	fmt.Fprintf(w, "%d segments (CPU µs per contact, median; × engine):\n", cn.N)
	for _, part := range []struct {
		name string
		rows []Row
	}{{"raw JSON in", cn.Raw}, {"pre-decoded", cn.Native}} {
		if len(part.rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s:\n", part.name)
		for _, x := range part.rows {
			segs := fmt.Sprint(x.Segments)
			if x.Floor {
				segs = "-"
			}
			fmt.Fprintf(w, "    %-28s %5s segs %10s µs  %7.2fx", x.Name, segs, us(median(x.CPU)), x.Ratio)
			if x.BaseR > 0 {
				fmt.Fprintf(w, "  (%.2fx the engine on the same segments)", x.BaseR)
			}
			fmt.Fprintln(w)
		}
	}
	for _, b := range cn.Built {
		if !b.Floor && !b.Baseline && !b.Agrees() {
			fmt.Fprintf(w, "  %s: %s\n", b.Name, strings.ReplaceAll(verdict(b), "**", ""))
		}
	}
}

// WriteSVG draws contacts per CPU second (log scale) against the number
// of segments (log scale), one line per backend, with `segmatch bench`'s
// chart writer (benchmarks.WriteChart). Floors are dashed, the engine
// bold; a peer's points are for the segments it expresses.
func WriteSVG(w io.Writer, r *Report, rows func(Count) []Row, title string) error {
	c := benchmarks.Chart{Title: title, Width: 820, Height: 480, Legend: 250}
	for _, cn := range r.Counts {
		c.Counts = append(c.Counts, cn.N)
	}
	lines := map[string]*benchmarks.Line{}
	for _, cn := range r.Counts {
		for _, x := range rows(cn) {
			v := median(x.CPU)
			if v <= 0 {
				continue
			}
			l := lines[x.Name]
			if l == nil {
				l = &benchmarks.Line{Name: x.Name, Points: map[int]float64{}, Bold: strings.HasPrefix(x.Name, Engine)}
				lines[x.Name] = l
			}
			l.Points[cn.N] = 1e9 / v
			l.Dashed = x.Floor
			if !x.Floor && x.Segments < cn.N && !strings.HasSuffix(l.Name, partialLabel) {
				l.Name += partialLabel
			}
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("peers: nothing measured")
	}
	for _, name := range sweepNames(r, rows) {
		if l := lines[name]; l != nil {
			c.Lines = append(c.Lines, *l)
		}
	}
	return benchmarks.WriteChart(w, c)
}

// partialLabel marks a peer that expresses only some of the segments.
const partialLabel = " (its segments only)"
