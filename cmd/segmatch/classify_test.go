package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store/bolt"
)

// classifyCases are the output formats and the flags around them; like
// cliCases, each has golden stdout and stderr.
var classifyCases = []cliCase{
	{"classify_csv", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "csv", "testdata/contacts.jsonl"}, "", exitOK},
	{"classify_counts", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "counts", "testdata/contacts.jsonl"}, "", exitOK},
	{"classify_jsonl_explicit", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "jsonl", "testdata/contacts.jsonl"}, "", exitOK},
	// Names with commas and quotes, a shared name, no name, a name that is
	// a fixed column's, a tab; ids with a comma, a number, none.
	{"classify_csv_columns", []string{"classify", "--segments", "testdata/csv_segments.json", "--format", "csv", "testdata/csv_contacts.jsonl"}, "", exitOK},
	{"classify_counts_names", []string{"classify", "--segments", "testdata/csv_segments.json", "--format", "counts", "testdata/csv_contacts.jsonl"}, "", exitOK},
	{"classify_csv_skip_bad", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "csv", "--skip-bad", "testdata/bad_contacts.jsonl"}, "", exitSkipped},
	{"classify_counts_skip_bad", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "counts", "--skip-bad", "testdata/bad_contacts.jsonl"}, "", exitSkipped},
	// A run stopped by a bad line prints no counts: they would read as a result.
	{"classify_counts_bad_line", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "counts", "testdata/bad_contacts.jsonl"}, "", exitFailure},
	{"classify_csv_stdin", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "csv"},
		`{"lead_id": "from-stdin", "country": "IT", "tags": ["vip"]}` + "\n", exitOK},
	{"classify_bad_format", []string{"classify", "--segments", "testdata/segments.json", "--format", "xlsx"}, "", exitUsage},
	{"classify_project_not_store", []string{"classify", "--segments", "testdata/segments.json", "--project", "p1", "testdata/contacts.jsonl"}, "", exitFailure},
	{"classify_help", []string{"classify", "-h"}, "", exitOK},
	{"classify_empty_input", []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "counts"}, "", exitOK},
}

func TestClassifyFormats(t *testing.T) {
	for _, tc := range classifyCases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			golden(t, tc.name+".stdout", stdout.Bytes())
			golden(t, tc.name+".stderr", stderr.Bytes())
		})
	}
}

// TestClassifyNoProgressOffTerminal: stderr a file (not a terminal): no
// bar, byte for byte what an in-memory stderr gets.
func TestClassifyNoProgressOffTerminal(t *testing.T) {
	args := []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/contacts.jsonl"}
	var wantOut, wantErr bytes.Buffer
	if code := run(args, nil, &wantOut, &wantErr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stdout bytes.Buffer
	if code := run(args, nil, &stdout, f); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantErr.Bytes()) {
		t.Errorf("stderr on a file:\n%q\nwant (no progress bar):\n%q", got, wantErr.Bytes())
	}
	if !bytes.Equal(stdout.Bytes(), wantOut.Bytes()) {
		t.Errorf("stdout differs")
	}
}

// TestClassifyProgressOnTerminal: on a terminal the bar goes to stderr,
// is erased before the summary, and stdout is exactly as without it, for
// a file (size known: a bar with ETA) and a pipe (a spinner).
func TestClassifyProgressOnTerminal(t *testing.T) {
	defer func(f func(io.Writer) bool) { isTerminal = f }(isTerminal)
	contacts, err := os.ReadFile("testdata/bad_contacts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"file", "pipe"} {
		t.Run(input, func(t *testing.T) {
			args := []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--skip-bad"}
			if input == "file" {
				args = append(args, "testdata/bad_contacts.jsonl")
			}
			stdin := func() io.Reader {
				if input == "file" {
					return nil
				}
				return bytes.NewReader(contacts)
			}
			var plainOut, plainErr bytes.Buffer
			isTerminal = func(io.Writer) bool { return false }
			if code := run(args, stdin(), &plainOut, &plainErr); code != exitSkipped {
				t.Fatalf("exit %d", code)
			}
			var stdout, stderr bytes.Buffer
			isTerminal = func(io.Writer) bool { return true }
			if code := run(args, stdin(), &stdout, &stderr); code != exitSkipped {
				t.Fatalf("exit %d", code)
			}
			if !bytes.Equal(stdout.Bytes(), plainOut.Bytes()) {
				t.Errorf("stdout with a progress bar:\n%s\nwant:\n%s", stdout.Bytes(), plainOut.Bytes())
			}
			got := stderr.String()
			if !strings.Contains(got, "lines") || !strings.Contains(got, "\r") {
				t.Errorf("no progress bar on a terminal's stderr:\n%q", got)
			}
			// Every message and the summary are there, each on a line
			// of its own once the bar's carriage returns are applied.
			for _, line := range strings.SplitAfter(plainErr.String(), "\n") {
				if !strings.Contains(got, line) {
					t.Errorf("stderr lacks %q:\n%q", line, got)
				}
			}
			if !strings.HasSuffix(got, plainErr.String()[strings.Index(plainErr.String(), "segmatch classify: 2 contacts"):]) {
				t.Errorf("the summary does not end stderr:\n%q", got)
			}
		})
	}
}

// TestClassifyDataFile: segments read from the store's data file
// (segmatch serve --data) for one project: its active segments only, in
// creation order, the file untouched; without --project, a clear error.
func TestClassifyDataFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "segmatch.db")
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st, err := bolt.Open(data, bolt.WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/segments.json")
	if err != nil {
		t.Fatal(err)
	}
	var segs []filter.Segment
	if err := json.Unmarshal(raw, &segs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Store ids are random: the golden files show each as <name>.
	var ids []string
	create := func(project string, seg filter.Segment) filter.Segment {
		t.Helper()
		got, err := st.Create(ctx, project, "tester", seg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.ID, "<"+got.Name+">")
		return got
	}
	for i, seg := range segs {
		create("p1", seg)
		if i == 1 {
			gone := create("p1", filter.Segment{Name: "deleted", Filters: []filter.Filter{}})
			if _, err := st.Delete(ctx, "p1", gone.ID); err != nil {
				t.Fatal(err)
			}
			create("p2", filter.Segment{Name: "other project", Filters: []filter.Filter{}})
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	clean := strings.NewReplacer(append(ids, data, "DATA")...)

	for _, tc := range []cliCase{
		{"classify_datafile", []string{"classify", "--segments", data, "--project", "p1", "--now", sampleNow, "testdata/contacts.jsonl"}, "", exitOK},
		{"classify_datafile_counts", []string{"classify", "--segments", data, "--project", "p1", "--now", sampleNow, "--format", "counts", "testdata/contacts.jsonl"}, "", exitOK},
		{"classify_datafile_no_project", []string{"classify", "--segments", data, "testdata/contacts.jsonl"}, "", exitFailure},
		{"classify_datafile_unknown_project", []string{"classify", "--segments", data, "--project", "nobody", "testdata/contacts.jsonl"}, "", exitFailure},
		{"validate_datafile", []string{"validate", "--project", "p1", data, "testdata/segments.json"}, "", exitOK},
		{"validate_datafile_no_project", []string{"validate", data}, "", exitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			golden(t, tc.name+".stdout", []byte(clean.Replace(stdout.String())))
			golden(t, tc.name+".stderr", []byte(clean.Replace(stderr.String())))
		})
	}
	after, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("classify changed the data file")
	}

	// While a server holds the file, classify says so instead of waiting.
	t.Run("locked", func(t *testing.T) {
		defer func(d time.Duration) { dataLockTimeout = d }(dataLockTimeout)
		dataLockTimeout = 50 * time.Millisecond
		srv, err := bolt.Open(data)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		var stderr bytes.Buffer
		code := run([]string{"classify", "--segments", data, "--project", "p1"}, strings.NewReader(""), io.Discard, &stderr)
		if code != exitFailure || !strings.Contains(stderr.String(), "in use by another process") {
			t.Errorf("exit %d, stderr %q; want 1 and in use by another process", code, stderr.String())
		}
	})
}

// TestClassifyWorkersBound: --workers 100000000 took 3 GB and hung; it is
// a usage error now, as is a negative count.
func TestClassifyWorkersBound(t *testing.T) {
	for _, n := range []string{"100000000", "1025", "-1"} {
		var stderr strings.Builder
		code := run([]string{"classify", "--segments", "testdata/segments.json", "--workers", n}, strings.NewReader(`{"a":1}`), io.Discard, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "--workers") {
			t.Errorf("--workers %s: exit %d, %q", n, code, stderr.String())
		}
	}
	var stdout strings.Builder
	if code := run([]string{"classify", "--segments", "testdata/segments.json", "--workers", "1024"}, strings.NewReader(`{"a":1}`), &stdout, io.Discard); code != 0 {
		t.Errorf("--workers 1024: exit %d", code)
	}
}
