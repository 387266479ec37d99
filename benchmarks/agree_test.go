package benchmarks

import (
	"bytes"
	"github.com/segmatch/segmatch/internal/testkit/race"
	"io"
	"os"
	"testing"
	"time"

	"github.com/segmatch/segmatch/engine"
)

// TestBackendsAgree: every backend gives the engine's answer for every
// contact and segment of several workloads, so the timings compare the
// same work. Not timed.
func TestBackendsAgree(t *testing.T) {
	for _, cfg := range []Config{
		{Segments: 200, Contacts: 300, Seed: 1},
		{Segments: 150, Contacts: 200, Fields: 12, Overlap: 0.5, Seed: 2},
		{Segments: 150, Contacts: 200, Fields: 20, Overlap: 1, ContactBytes: 2048, Seed: 3},
	} {
		w, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		dis, err := Agree(w, AllBackends, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dis {
			src, _ := ExprSource(w.Segments[d.Segment])
			t.Errorf("seed %d: %v\nsegment (expr): %s\ncontact: %s", cfg.Seed, d, src, w.Raw[d.Contact])
		}
	}
}

// TestWorkloadIsRealistic: contacts are about the requested size, every
// segment is met by some contacts and missed by others (mostly), and the
// matches per contact are neither none nor all.
func TestWorkloadIsRealistic(t *testing.T) {
	w, err := Generate(Config{Seed: 1, Contacts: 500})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.AvgBytes(); got < 900 || got > 1100 {
		t.Errorf("mean contact size %d bytes; want ~1024", got)
	}
	b, err := NewEngine(w.Segments)
	if err != nil {
		t.Fatal(err)
	}
	hits := make([]int, len(w.Segments))
	dst := make([]bool, len(w.Segments))
	for _, raw := range w.Raw {
		if err := b.Classify(raw, dst); err != nil {
			t.Fatal(err)
		}
		for s, m := range dst {
			if m {
				hits[s]++
			}
		}
	}
	never, always, total := 0, 0, 0
	for _, h := range hits {
		total += h
		switch h {
		case 0:
			never++
		case len(w.Raw):
			always++
		}
	}
	t.Logf("segments never matched: %d, always: %d, mean matches per contact: %.1f of %d",
		never, always, float64(total)/float64(len(w.Raw)), len(w.Segments))
	if never > len(w.Segments)/2 || always > len(w.Segments)/10 {
		t.Errorf("unrealistic workload: %d segments never match, %d always", never, always)
	}
	for _, s := range w.Segments {
		if n := len(s.Filters); n < 3 || n > 5 {
			t.Fatalf("segment %s has %d conditions", s.ID, n)
		}
	}
}

// TestDeterministic: same config, same workload; the contacts do not
// depend on the segment count and smaller segment lists are prefixes.
func TestDeterministic(t *testing.T) {
	a, _ := Generate(Config{Segments: 10, Contacts: 20, Seed: 7})
	b, _ := Generate(Config{Segments: 30, Contacts: 20, Seed: 7})
	for i := range a.Raw {
		if !bytes.Equal(a.Raw[i], b.Raw[i]) {
			t.Fatalf("contact %d differs", i)
		}
	}
	for i := range a.Segments {
		x, _ := ExprSource(a.Segments[i])
		y, _ := ExprSource(b.Segments[i])
		if x != y {
			t.Fatalf("segment %d differs:\n%s\n%s", i, x, y)
		}
	}
	// the generating reader yields the same contacts, one a line
	data, err := io.ReadAll(NewContactReader(Config{Seed: 7}, 20))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 20 || !bytes.Equal(lines[19], a.Raw[19]) {
		t.Fatalf("ContactReader: %d lines, last differs", len(lines))
	}
	data, _ = io.ReadAll(NewCycleReader(a.Raw[:3], 7))
	lines = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 7 || !bytes.Equal(lines[6], a.Raw[0]) {
		t.Fatalf("CycleReader: %d lines", len(lines))
	}
}

// TestEngineZeroAllocs: issue 4's "0 allocs per contact in steady state",
// over every contact of the workload (without -race, which makes
// sync.Pool drop items on purpose).
func TestEngineZeroAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("-race makes sync.Pool drop items; .ci/run checks allocations without -race")
	}
	w, err := Generate(Config{Contacts: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewEngine(w.Segments)
	dst := make([]bool, len(w.Segments))
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		if err := b.Classify(w.Raw[i%len(w.Raw)], dst); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("engine: %v allocs per contact; want 0", allocs)
	}
}

// TestStreamMemory streams 1,000,000 generated contacts (made as they are
// read, never held) through engine.ClassifyStream with 2 workers and
// checks the peak RSS (VmHWM) stays under 200 MB. It takes tens of
// seconds: run it with SEGMATCH_BIG=1 (alone, so VmHWM is this test's):
//
//	SEGMATCH_BIG=1 go test -run StreamMemory -v ./benchmarks
func TestStreamMemory(t *testing.T) {
	if os.Getenv("SEGMATCH_BIG") == "" {
		t.Skip("set SEGMATCH_BIG=1 to stream 1,000,000 contacts")
	}
	const n = 1_000_000
	cfg := DefaultConfig
	eng, err := engine.New(GenerateSegments(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r, err := MeasureStream(eng, NewContactReader(cfg, n), 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Contacts != n {
		t.Fatalf("streamed %d contacts; want %d", r.Contacts, n)
	}
	rss := PeakRSS()
	t.Logf("%d contacts (generated on the fly) in %v with 2 workers: %.0f contacts/s; peak RSS (VmHWM) %.1f MB",
		n, r.Elapsed.Round(time.Millisecond), r.PerSec, float64(rss)/(1<<20))
	if rss > 200<<20 {
		t.Errorf("peak RSS %.1f MB; target < 200 MB", float64(rss)/(1<<20))
	}
}
