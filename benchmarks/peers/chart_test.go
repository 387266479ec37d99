package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// TestWriteSVG: the chart is one well-formed SVG with a line a backend,
// the floor dashed, the engine bold, a peer with a subset of the
// segments labelled so.
func TestWriteSVG(t *testing.T) {
	r := &Report{Counts: []Count{
		{N: 10, Raw: []Row{{Name: Engine, Segments: 10, CPU: []float64{1000}}, {Name: "floor", Floor: true, CPU: []float64{200}}, {Name: "peer", Segments: 8, CPU: []float64{5000}}}},
		{N: 100, Raw: []Row{{Name: Engine, Segments: 100, CPU: []float64{4000}}, {Name: "floor", Floor: true, CPU: []float64{200}}, {Name: "peer", Segments: 80, CPU: []float64{50000}}}},
	}}
	var b bytes.Buffer
	if err := WriteSVG(&b, r, func(c Count) []Row { return c.Raw }, "title"); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if err := xml.Unmarshal(b.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not one XML document: %v", err)
	}
	for _, want := range []string{">title<", `stroke-width="3"`, `stroke-dasharray="5 4"`, "peer (its segments only)", ">floor<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<polyline"); n != 3 {
		t.Errorf("%d lines, want 3", n)
	}
	if err := WriteSVG(&b, &Report{}, func(c Count) []Row { return c.Raw }, "t"); err == nil {
		t.Error("an empty report drew a chart")
	}
}
