package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
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

var palette = []string{"#1b6ca8", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#30638e", "#66a182",
	"#8d6a9f", "#c05746", "#2e4057", "#99c24d", "#f18f01", "#048a81", "#7f7f7f"}

// WriteSVG draws contacts per CPU second (log scale) against the number
// of segments (log scale), one line per backend, in the style of
// `segmatch bench`'s chart. Floors are dashed; a peer's points are for
// the segments it expresses.
func WriteSVG(w io.Writer, r *Report, rows func(Count) []Row, title string) error {
	const (
		width, height         = 820.0, 480.0
		left, right, top, bot = 80.0, 250.0, 40.0, 60.0
		plotW, plotH          = width - left - right, height - top - bot
	)
	names := sweepNames(r, rows)
	var counts []int
	for _, cn := range r.Counts {
		counts = append(counts, cn.N)
	}
	sort.Ints(counts)
	cost := map[string]map[int]float64{}
	floor := map[string]bool{}
	partial := map[string]bool{}
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, cn := range r.Counts {
		for _, x := range rows(cn) {
			c := median(x.CPU)
			if c <= 0 {
				continue
			}
			if cost[x.Name] == nil {
				cost[x.Name] = map[int]float64{}
			}
			cost[x.Name][cn.N] = c
			floor[x.Name] = x.Floor
			partial[x.Name] = partial[x.Name] || (!x.Floor && x.Segments < cn.N)
			minY, maxY = math.Min(minY, 1e9/c), math.Max(maxY, 1e9/c)
		}
	}
	if math.IsInf(minY, 0) {
		return fmt.Errorf("peers: nothing measured")
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
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, title)
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
		dash, width, label := "", 2, name
		if floor[name] {
			dash = ` stroke-dasharray="5 4"`
		}
		if strings.HasPrefix(name, Engine) {
			width = 3
		}
		if partial[name] {
			label += " (its segments only)"
		}
		var pts [][2]float64
		for _, c := range counts {
			if v, ok := cost[name][c]; ok {
				pts = append(pts, [2]float64{x(c), y(1e9 / v)})
			}
		}
		if len(pts) > 1 {
			var ps []string
			for _, p := range pts {
				ps = append(ps, fmt.Sprintf("%.1f,%.1f", p[0], p[1]))
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%d"%s/>`+"\n", strings.Join(ps, " "), color, width, dash)
		}
		for _, p := range pts {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", p[0], p[1], color)
		}
		ly := top + 10 + float64(i)*20
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", left+plotW+12, ly, left+plotW+32, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+plotW+38, ly+4, label)
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
