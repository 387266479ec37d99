package sample

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

const testdata = "../../../testdata"

// TestCommittedFilesAreReproducible regenerates the sample and compares
// it byte for byte with the committed testdata/ files.
func TestCommittedFilesAreReproducible(t *testing.T) {
	files, err := Files(DefaultSeed, DefaultLeads)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			t.Fatalf("%v (run `go generate ./internal/testkit/sample`)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from the generator's output; run `go generate ./internal/testkit/sample`", name)
		}
	}
	again, err := Files(DefaultSeed, DefaultLeads)
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if !bytes.Equal(files[name], again[name]) {
			t.Errorf("%s: two runs with one seed differ", name)
		}
	}
}

func loadSegments(t *testing.T) []filter.Segment {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, SegmentsFile))
	if err != nil {
		t.Fatal(err)
	}
	var segs []filter.Segment
	if err := json.Unmarshal(raw, &segs); err != nil {
		t.Fatalf("%s: %v", SegmentsFile, err)
	}
	return segs
}

// TestSegmentsCoverEveryOperator: the catalogue uses every canonical
// operator (elem_match groups included) and has at least 25 segments with
// 24-hex ids.
func TestSegmentsCoverEveryOperator(t *testing.T) {
	segs := loadSegments(t)
	if len(segs) < 25 {
		t.Errorf("%d segments; want at least 25", len(segs))
	}
	used := map[string]bool{}
	aliases := map[string]bool{}
	var walk func(fs []filter.Filter)
	walk = func(fs []filter.Filter) {
		for _, f := range fs {
			if f.IsGroup() {
				walk(f.Filters)
				continue
			}
			op, ok := operators.Lookup(f.Operator)
			if !ok {
				t.Errorf("unknown operator %q", f.Operator)
				continue
			}
			used[op.Name] = true
			if f.Operator != op.Name {
				aliases[f.Operator] = true
			}
			if op.Name == "elem_match" {
				g, err := filter.DecodeGroup(f.Value, "", 1)
				if err != nil {
					t.Fatal(err)
				}
				walk(g.Filters)
			}
		}
	}
	for _, s := range segs {
		if len(s.ID) != 24 {
			t.Errorf("%s: id %q is not 24 hex digits", s.Name, s.ID)
		}
		walk(s.Filters)
	}
	for _, name := range operators.Canonical() {
		if !used[name] {
			t.Errorf("no sample segment uses %s", name)
		}
	}
	var as []string
	for a := range aliases {
		as = append(as, a)
	}
	sort.Strings(as)
	t.Logf("%d segments, %d canonical operators, %d aliases: %q", len(segs), len(used), len(as), as)
}

// TestEverySegmentMatchesSomeButNotAll classifies the committed leads at
// the sample's reference time.
func TestEverySegmentMatchesSomeButNotAll(t *testing.T) {
	segs := loadSegments(t)
	progs := make([]*segmatch.Program, len(segs))
	for i, s := range segs {
		p, err := segmatch.Compile(s, segmatch.WithNow(func() time.Time { return Now }))
		if err != nil {
			t.Fatalf("segment %d (%s): %v", i, s.Name, err)
		}
		progs[i] = p
	}
	f, err := os.Open(filepath.Join(testdata, LeadsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := make([]int, len(segs))
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
		for i, p := range progs {
			ok, err := p.MatchJSON(sc.Bytes())
			if err != nil {
				t.Fatalf("leads.jsonl:%d: %v", n, err)
			}
			if ok {
				counts[i]++
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 2000 {
		t.Errorf("%d leads; want at least 2000", n)
	}
	for i, s := range segs {
		t.Logf("%5d  %s", counts[i], s.Name)
		if counts[i] == 0 || counts[i] == n {
			t.Errorf("segment %d (%s) matches %d of %d leads; want some but not all", i, s.Name, counts[i], n)
		}
	}
}

// TestInvalidSegmentsAllFail: each invalid sample segment is rejected,
// by decoding or by compiling, with a located error.
func TestInvalidSegmentsAllFail(t *testing.T) {
	var raws []json.RawMessage
	if err := json.Unmarshal(InvalidSegments(), &raws); err != nil {
		t.Fatal(err)
	}
	for i, raw := range raws {
		seg, err := filter.DecodeSegment(raw)
		if err == nil {
			_, err = segmatch.Compile(seg)
		}
		var ce *segmatch.CompileError
		if !errors.As(err, &ce) {
			t.Errorf("invalid segment %d: got %v; want a *CompileError", i, err)
			continue
		}
		t.Logf("invalid segment %d: %v", i, err)
	}
}
