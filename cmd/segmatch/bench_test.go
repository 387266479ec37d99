package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench runs `segmatch bench` on a tiny workload, with a sweep, a
// stream and a report, and checks what it prints and writes.
func TestBench(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--segments", "12", "--contacts", "20", "--fields", "12", "--contact-bytes", "600",
		"--duration", "2ms", "--sweep", "segments=3,6", "--stream", "100", "--out", dir}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"12 generated segments", "agree on all 20 contacts × 12 segments",
		"engine ", "programs ", "gjson ", "decode+match ", "expr ", "x engine",
		"3 segments", "6 segments", "workers=1", "workers=2", "peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "| decode+match |") || !strings.Contains(string(report), "throughput.svg") {
		t.Errorf("report.md:\n%s", report)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "throughput.svg"))
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("<polyline")) {
		t.Errorf("throughput.svg: %v\n%.300s", err, svg)
	}
}

// TestBenchFiles reads the workload from the shipped sample: the engine
// and the programs run; gjson and expr say what they cannot express.
func TestBenchFiles(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--segments-file", "testdata/segments.json", "--contacts-file", "testdata/contacts.jsonl",
		"--duration", "1ms"}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "from testdata/segments.json") || !strings.Contains(out, "programs ") {
		t.Errorf("output:\n%s", out)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--sweep", "fields=1,2"},
		{"bench", "--backends", "engine,nope"},
		{"bench", "--fields", "40"},
		{"bench", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, nil, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d; want %d", args, code, exitUsage)
		}
	}
}
