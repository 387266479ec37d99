package benchmarks

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Chart is a log-log line chart of throughput (contacts per CPU second)
// against the number of segments, one line per backend: a small
// hand-written SVG, drawn by WriteChart for `segmatch bench` and for the
// peers harness alike.
type Chart struct {
	Title         string
	Width, Height float64 // the whole picture
	Legend        float64 // the width kept right of the plot for the names
	Counts        []int   // the segment counts on the x axis
	Lines         []Line
}

// Line is one backend's points: contacts per CPU second at a segment
// count (counts it has no figure for are left out).
type Line struct {
	Name   string
	Points map[int]float64
	Dashed bool // a floor, not a backend
	Bold   bool // the engine
}

var palette = []string{"#1b6ca8", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#30638e", "#66a182",
	"#8d6a9f", "#c05746", "#2e4057", "#99c24d", "#f18f01", "#048a81", "#7f7f7f"}

// WriteChart draws c.
func WriteChart(w io.Writer, c Chart) error {
	const left, top, bot = 80.0, 40.0, 60.0
	width, height := c.Width, c.Height
	plotW, plotH := width-left-c.Legend, height-top-bot
	counts := append([]int(nil), c.Counts...)
	sort.Ints(counts)
	if len(counts) == 0 {
		return fmt.Errorf("benchmarks: empty chart")
	}
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, l := range c.Lines {
		for _, v := range l.Points {
			if v > 0 {
				minY, maxY = math.Min(minY, v), math.Max(maxY, v)
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
	x := func(n int) float64 { return left + (math.Log10(float64(n))-xlo)/(xhi-xlo)*plotW }
	y := func(v float64) float64 { return top + (hi-math.Log10(v))/(hi-lo)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, c.Title)
	for e := lo; e <= hi; e++ {
		yy := y(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, left+plotW, yy)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, yy+4, siLabel(math.Pow(10, e)))
	}
	for _, n := range counts {
		xx := x(n)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", xx, top, xx, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", xx, top+plotH+18, n)
	}
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">segments</text>`+"\n", left+plotW/2, height-18)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">contacts per CPU second</text>`+"\n", top+plotH/2)
	for i, l := range c.Lines {
		color := palette[i%len(palette)]
		dash, stroke := "", 2
		if l.Dashed {
			dash = ` stroke-dasharray="5 4"`
		}
		if l.Bold {
			stroke = 3
		}
		var pts [][2]float64
		for _, n := range counts {
			if v, ok := l.Points[n]; ok && v > 0 {
				pts = append(pts, [2]float64{x(n), y(v)})
			}
		}
		if len(pts) > 1 {
			ps := make([]string, len(pts))
			for j, p := range pts {
				ps[j] = fmt.Sprintf("%.1f,%.1f", p[0], p[1])
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%d"%s/>`+"\n", strings.Join(ps, " "), color, stroke, dash)
		}
		for _, p := range pts {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", p[0], p[1], color)
		}
		ly := top + 10 + float64(i)*20
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", left+plotW+12, ly, left+plotW+32, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+plotW+38, ly+4, l.Name)
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
