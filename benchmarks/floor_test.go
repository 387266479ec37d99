package benchmarks

import (
	"os"
	"strings"
	"testing"
)

// TestFloorRatio times the engine at 200 segments (engine.New +
// ClassifyJSONInto) against the validate-only floors (Floors) on the
// default workload, in short interleaved batches in this one process,
// and logs the engine's time over each floor's (issue 14 item 7: at most
// 5x the fastest). The separate module benchmarks/peers does the same
// with bytedance/sonic's validator among the floors. Run it with
// SEGMATCH_FLOOR=1 (SEGMATCH_FLOOR_DURATION, default 20s, in all;
// SEGMATCH_FLOOR_BATCH, default 5ms, per batch):
//
//	SEGMATCH_FLOOR=1 go test -count 1 -run FloorRatio -v ./benchmarks
func TestFloorRatio(t *testing.T) {
	if os.Getenv("SEGMATCH_FLOOR") == "" && !testing.Short() {
		t.Skip("set SEGMATCH_FLOOR=1 to time the engine against the validate-only floors")
	}
	total, batch := FloorSettings()
	cfg := DefaultConfig
	if testing.Short() && os.Getenv("SEGMATCH_FLOOR") == "" { // the machinery only
		total, batch, cfg.Contacts = 0, 100_000, 50
	}
	w, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var bs []Backend
	for _, name := range append([]string{Engine}, Floors...) {
		b, err := New(name, w.Segments)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	iv := MeasureInterleaved(bs, len(w.Segments), w.Raw, total, batch)
	var sb strings.Builder
	WriteFloorReport(&sb, iv, Floors)
	t.Logf("%d segments, %d contacts of ~%d bytes\n%s", len(w.Segments), len(w.Raw), w.AvgBytes(), sb.String())
	if !strings.Contains(sb.String(), "engine / fastest validate-only") {
		t.Errorf("no floor ratio:\n%s", sb.String())
	}
}

// TestInterleavedSkipsFailing: a backend that refuses the contacts is
// reported as skipped, and the others are still measured.
func TestInterleavedSkipsFailing(t *testing.T) {
	raws := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":[true,null]}`)}
	bs := []Backend{NewFloor("never", func([]byte) bool { return false }), NewFloor(RawValid, func([]byte) bool { return true })}
	iv := MeasureInterleaved(bs, 1, raws, 0, 20_000)
	if iv.Errs[0] == nil || iv.Errs[1] != nil || iv.Cycles < 3 || len(iv.Batches[1]) != iv.Cycles || iv.Median(1) <= 0 {
		t.Fatalf("%+v", iv)
	}
	var sb strings.Builder
	WriteFloorReport(&sb, iv, Floors)
	if !strings.Contains(sb.String(), "never           skipped") {
		t.Errorf("report:\n%s", sb.String())
	}
}
