// Package sample generates the project's realistic sample data: a
// catalogue of marketing segments over Tiledesk leads, a population of
// leads drawn from a fixed-seed PCG stream, and a file of invalid segments
// for `segmatch validate`.
//
// The output is byte-for-byte reproducible: the same seed and count always
// write the same files (sample_test.go regenerates testdata/ and compares).
// Relative dates in the leads are laid out around Now, so classify the
// sample with `--now 2026-11-28T10:00:00Z` to get the intended audiences.
//
//go:generate go run ./cmd/gensample -dir ../../../testdata
package sample

import (
	"bytes"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// Now is the reference instant of the sample: lead dates are generated
// relative to it, and it is the clock to classify the sample with.
var Now = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// The defaults that testdata/ is written with.
const (
	DefaultSeed  uint64 = 20261128
	DefaultLeads int    = 2500
)

// File names written by WriteFiles.
const (
	SegmentsFile        = "segments.json"
	LeadsFile           = "leads.jsonl"
	InvalidSegmentsFile = "invalid_segments.json"
)

// Generate returns the segment catalogue and a sequence of n leads drawn
// from seed. The sequence is deterministic and can be ranged over more
// than once; each range starts the stream afresh.
func Generate(seed uint64, n int) ([]filter.Segment, iter.Seq[Object]) {
	leads := func(yield func(Object) bool) {
		g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5e9a7c4)), now: Now}
		for l := range g.leads(n) {
			if !yield(l) {
				return
			}
		}
	}
	return segments(), leads
}

// InvalidSegments returns the JSON array of invalid segments.
func InvalidSegments() []byte { return []byte(invalidSegments) }

// Files renders the three sample files, keyed by file name.
func Files(seed uint64, n int) (map[string][]byte, error) {
	segs, leads := Generate(seed, n)
	var sb bytes.Buffer
	sb.WriteString("[\n")
	for i := range segs {
		raw, err := segs[i].MarshalJSON() // not json.Marshal: keep ">=" unescaped
		if err != nil {
			return nil, fmt.Errorf("segment %d (%s): %w", i, segs[i].Name, err)
		}
		sb.WriteString("  ")
		sb.Write(raw)
		if i < len(segs)-1 {
			sb.WriteByte(',')
		}
		sb.WriteByte('\n')
	}
	sb.WriteString("]\n")

	var lb bytes.Buffer
	i := 0
	for l := range leads {
		raw, err := l.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("lead %d: %w", i, err)
		}
		lb.Write(raw)
		lb.WriteByte('\n')
		i++
	}
	return map[string][]byte{
		SegmentsFile:        sb.Bytes(),
		LeadsFile:           lb.Bytes(),
		InvalidSegmentsFile: InvalidSegments(),
	}, nil
}

// WriteFiles writes the sample files into dir.
func WriteFiles(dir string, seed uint64, n int) error {
	files, err := Files(seed, n)
	if err != nil {
		return err
	}
	for _, name := range []string{SegmentsFile, LeadsFile, InvalidSegmentsFile} {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
