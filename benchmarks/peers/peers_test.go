package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/segmatch/segmatch/benchmarks"
)

// TestFloor: the engine at 200 segments and every floor over the
// default workload (benchmarks.DefaultConfig), in short interleaved
// batches in this process (benchmarks.MeasureInterleaved;
// SEGMATCH_FLOOR_DURATION in all, default 20s; SEGMATCH_FLOOR_BATCH,
// default 5ms). It logs the engine's time over each floor's and over the
// fastest one's (issue 14 item 7's target: at most 5x). -short only runs
// the machinery.
func TestFloor(t *testing.T) {
	cfg := benchmarks.DefaultConfig
	total, batch := benchmarks.FloorSettings()
	if testing.Short() {
		total, batch, cfg.Contacts = 0, 100_000, 50
	}
	w, err := benchmarks.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := Backends(w)
	if err != nil {
		t.Fatal(err)
	}
	iv := benchmarks.MeasureInterleaved(bs, len(w.Segments), w.Raw, total, batch)
	var sb strings.Builder
	benchmarks.WriteFloorReport(&sb, iv, append([]string{SonicValid}, benchmarks.Floors...))
	t.Logf("%d segments, %d contacts of ~%d bytes\n%s", len(w.Segments), len(w.Raw), w.AvgBytes(), sb.String())
}

// TestFloorsAgree: every floor accepts every contact of the workload;
// the exact ones (encoding/json's and rawjson's) refuse every broken
// document below. sonic.Valid does not look inside strings (an invalid
// escape, a raw control byte pass): what it lets through is logged.
func TestFloorsAgree(t *testing.T) {
	w, err := benchmarks.Generate(benchmarks.Config{Contacts: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := Backends(w)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]bool, len(w.Segments))
	bad := []string{`{"a":1,}`, `{"a":"\x"}`, `{"a":"\u12G4"}`, "{\"a\":\"\x01\"}", "{\"a\x7f\":\"\t\"}", `{"a":tru}`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e+}`, `{"a":[1,2}`, `{"a" 1}`, `{"a":1}x`, `{"a":"b`}
	for _, b := range bs {
		for i, raw := range w.Raw {
			if err := b.Classify(raw, dst); err != nil {
				t.Errorf("%s refuses contact %d: %v", b.Name(), i, err)
			}
		}
		if b.Name() == benchmarks.Engine {
			continue
		}
		var let []string
		for _, raw := range bad {
			if b.Classify([]byte(raw), dst) == nil {
				let = append(let, fmt.Sprintf("%q", raw))
			}
		}
		switch {
		case len(let) > 0 && b.Name() == SonicValid:
			t.Logf("%s accepts %s", b.Name(), strings.Join(let, " "))
		case len(let) > 0:
			t.Errorf("%s accepts %s", b.Name(), strings.Join(let, " "))
		}
	}
}

// BenchmarkFloor: the same backends as Go benchmarks (ns/op per contact).
func BenchmarkFloor(b *testing.B) {
	w, err := benchmarks.Generate(benchmarks.DefaultConfig)
	if err != nil {
		b.Fatal(err)
	}
	bs, err := Backends(w)
	if err != nil {
		b.Fatal(err)
	}
	ns := map[string]float64{}
	for _, be := range bs {
		b.Run(be.Name(), func(b *testing.B) {
			dst := make([]bool, len(w.Segments))
			b.SetBytes(int64(w.AvgBytes()))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				be.Classify(w.Raw[i%len(w.Raw)], dst)
				i++
			}
			ns[be.Name()] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	if ns[benchmarks.Engine] == 0 {
		return
	}
	var sb strings.Builder
	for _, be := range bs[1:] {
		fmt.Fprintf(&sb, "\nengine / %-13s %.2fx", be.Name(), ns[benchmarks.Engine]/ns[be.Name()])
	}
	b.Log(sb.String())
}
