package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func init() {
	// The summary's elapsed time is the one nondeterministic output.
	since = func(time.Time) time.Duration { return 1234 * time.Millisecond }
}

const sampleNow = "2026-11-28T10:00:00Z"

// cliCase is one in-process run of the command and what it must produce:
// the exit code here, stdout and stderr in testdata/NAME.stdout and
// testdata/NAME.stderr (rewritten with -update).
type cliCase struct {
	name  string
	args  []string
	stdin string
	code  int
}

var cliCases = []cliCase{
	{"help", []string{"help"}, "", exitOK},
	{"noargs", nil, "", exitUsage},
	{"unknown_command", []string{"frobnicate"}, "", exitUsage},

	{"validate_sample", []string{"validate", "../../testdata/segments.json"}, "", exitOK},
	{"validate_invalid", []string{"validate", "../../testdata/invalid_segments.json"}, "", exitFailure},
	{"validate_jsonl_problems", []string{"validate", "testdata/segments.jsonl", "testdata/bad_segments.jsonl"}, "", exitFailure},
	{"validate_broken_array", []string{"validate", "testdata/broken_array.json"}, "", exitFailure},
	{"validate_missing_file", []string{"validate", "testdata/no_such_file.json"}, "", exitFailure},
	{"validate_unreadable_and_bad", []string{"validate", "testdata/segments.jsonl", "testdata/broken_array.json", "testdata/bad_segments.jsonl"}, "", exitFailure},
	{"validate_no_args", []string{"validate"}, "", exitUsage},
	{"validate_typos_nameless", []string{"validate", "testdata/typo_segments.jsonl"}, "", exitFailure},

	{"classify_file", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/contacts.jsonl"}, "", exitOK},
	{"classify_jsonl_segments", []string{"classify", "--segments", "testdata/segments.jsonl", "--now", sampleNow, "testdata/contacts.jsonl"}, "", exitOK},
	{"classify_stdin_dash", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "-"},
		`{"lead_id": "from-stdin", "country": "IT", "tags": ["vip"], "createdAt": "2026-11-28T09:00:00Z"}` + "\n", exitOK},
	{"classify_stdin_implicit", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow},
		`{"_id": "no-newline-at-end", "attributes": {"age": 30}}`, exitOK},
	{"classify_bad_line", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/bad_contacts.jsonl"}, "", exitFailure},
	{"classify_skip_bad", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--skip-bad", "testdata/bad_contacts.jsonl"}, "", exitSkipped},
	{"classify_bad_segments", []string{"classify", "--segments", "../../testdata/invalid_segments.json", "testdata/contacts.jsonl"}, "", exitFailure},
	{"classify_typos_nameless", []string{"classify", "--segments", "testdata/typo_segments.jsonl", "testdata/contacts.jsonl"}, "", exitFailure},
	{"classify_no_segments_flag", []string{"classify", "testdata/contacts.jsonl"}, "", exitUsage},
	{"classify_bad_now", []string{"classify", "--segments", "testdata/segments.json", "--now", "yesterday"}, "", exitUsage},
	{"classify_sample", []string{"classify", "--segments", "../../testdata/segments.json", "--now", sampleNow, "../../testdata/leads.jsonl"}, "", exitOK},
}

func TestCLI(t *testing.T) {
	for _, tc := range cliCases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			out := stdout.Bytes()
			if tc.name == "classify_sample" {
				out = sampleDigest(t, out)
			}
			golden(t, tc.name+".stdout", out)
			golden(t, tc.name+".stderr", stderr.Bytes())
		})
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./cmd/segmatch -update`)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (rerun with -update if intended)\ngot:\n%s\nwant:\n%s", path, clip(got), clip(want))
	}
}

// sampleDigest condenses the classification of the 2,500 sample leads
// into what a reviewer can read in a diff: how many leads each segment
// got, then the first 50 result lines.
func sampleDigest(t *testing.T, out []byte) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	counts := map[string]int{}
	var order []string
	for _, l := range lines {
		var r struct{ Segments []string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		for _, k := range r.Segments {
			if counts[k] == 0 {
				order = append(order, k)
			}
			counts[k]++
		}
	}
	sort.Strings(order)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d result lines; leads per segment:\n", len(lines))
	for _, k := range order {
		fmt.Fprintf(&b, "%s %d\n", k, counts[k])
	}
	b.WriteString("first 50 lines:\n")
	for _, l := range lines[:min(50, len(lines))] {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

// TestSegmentFormatsAgree: a JSON array and JSON Lines of the same
// segments classify identically.
func TestSegmentFormatsAgree(t *testing.T) {
	out := func(segs string) string {
		var stdout bytes.Buffer
		code := run([]string{"classify", "--segments", segs, "--now", sampleNow, "testdata/contacts.jsonl"}, nil, &stdout, io.Discard)
		if code != exitOK {
			t.Fatalf("%s: exit %d", segs, code)
		}
		return stdout.String()
	}
	if a, b := out("testdata/segments.json"), out("testdata/segments.jsonl"); a != b {
		t.Errorf("array and JSON Lines segments disagree:\n%s\n%s", a, b)
	}
}

// TestClassifyLongLine: a contact longer than the read buffer is read
// whole.
func TestClassifyLongLine(t *testing.T) {
	long := `{"lead_id": "long", "country": "IT", "tags": ["vip"], "notes": "` + strings.Repeat("x", 300<<10) + `"}` + "\n"
	var stdout, stderr bytes.Buffer
	code := run([]string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow}, strings.NewReader(long+long), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := `{"line":1,"id":"long","segments":["65f1c0ffee0000000000c001","65f1c0ffee0000000000c004"]}` + "\n" +
		`{"line":2,"id":"long","segments":["65f1c0ffee0000000000c001","65f1c0ffee0000000000c004"]}` + "\n"
	if stdout.String() != want {
		t.Errorf("got %s\nwant %s", stdout.String(), want)
	}
}
