package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/segmatch/segmatch"
)

// explainCases: the text and JSON trees, how a segment is chosen, and
// every way explain refuses; each has golden stdout and stderr.
var explainCases = []cliCase{
	{"explain_text", []string{"explain", "--segments", "testdata/explain_segments.json", "--segment", "65f1c0ffee0000000000f001", "testdata/explain_contact.json"}, "", exitOK},
	{"explain_json", []string{"explain", "--segments", "testdata/explain_segments.json", "--segment", "65f1c0ffee0000000000f001", "--format", "json", "testdata/explain_contact.json"}, "", exitOK},
	{"explain_by_name_stdin", []string{"explain", "--segments", "testdata/segments.json", "--segment", "Recent signups", "--now", sampleNow},
		`{"lead_id": "wab-1", "tags": ["vip"], "createdAt": "2026-11-27T09:00:00Z"}`, exitOK},
	{"explain_stdin_dash", []string{"explain", "--segments", "testdata/segments.json", "--segment", "65f1c0ffee0000000000c002", "-"},
		`{"attributes": {"age": null}}`, exitOK},
	{"explain_unknown_segment", []string{"explain", "--segments", "testdata/segments.json", "--segment", "65f1c0ffee0000000000ffff", "testdata/explain_contact.json"}, "", exitFailure},
	{"explain_shared_name", []string{"explain", "--segments", "testdata/csv_segments.json", "--segment", "Twice", "testdata/explain_contact.json"}, "", exitFailure},
	{"explain_not_object", []string{"explain", "--segments", "testdata/segments.json", "--segment", "Everyone"}, `[{"country": "IT"}]`, exitFailure},
	{"explain_malformed", []string{"explain", "--segments", "testdata/segments.json", "--segment", "Everyone"}, `{"country": "IT"`, exitFailure},
	{"explain_two_contacts", []string{"explain", "--segments", "testdata/segments.json", "--segment", "Everyone"}, "{}\n{}\n", exitFailure},
	{"explain_missing_file", []string{"explain", "--segments", "testdata/segments.json", "--segment", "Everyone", "testdata/no_such_contact.json"}, "", exitFailure},
	{"explain_no_segment_flag", []string{"explain", "--segments", "testdata/segments.json"}, "{}", exitUsage},
	{"explain_bad_format", []string{"explain", "--segments", "testdata/segments.json", "--segment", "Everyone", "--format", "yaml"}, "{}", exitUsage},
	{"explain_help", []string{"explain", "-h"}, "", exitOK},
}

func TestExplainCLI(t *testing.T) {
	for _, tc := range explainCases {
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

// TestExplainBadSegments: a segments file with problems stops explain as
// it stops classify (the problems' wording is validate's golden files').
func TestExplainBadSegments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"explain", "--segments", "testdata/bad_segments.jsonl", "--segment", "fine"}, strings.NewReader("{}"), &stdout, &stderr)
	if code != exitFailure || stdout.Len() > 0 {
		t.Fatalf("exit %d, stdout %q", code, stdout.String())
	}
	if want := "segmatch explain: 4 problems in testdata/bad_segments.jsonl; run `segmatch validate testdata/bad_segments.jsonl`\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("stderr:\n%s\nwant it to end with:\n%s", stderr.String(), want)
	}
}

// TestExplainAgreesWithClassify: for every segment and contact of the
// classify fixtures, explain's result is classify's.
func TestExplainAgreesWithClassify(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/contacts.jsonl"}, nil, &out, &bytes.Buffer{}); code != exitOK {
		t.Fatalf("classify: exit %d", code)
	}
	var results []map[string]bool
	for line := range strings.Lines(out.String()) {
		var r struct{ Segments []string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		in := map[string]bool{}
		for _, s := range r.Segments {
			in[s] = true
		}
		results = append(results, in)
	}
	data, err := os.ReadFile("testdata/contacts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"65f1c0ffee0000000000c001", "65f1c0ffee0000000000c002", "Recent signups", "65f1c0ffee0000000000c004"}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, checked := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		for _, key := range keys {
			var stdout, stderr bytes.Buffer
			code := run([]string{"explain", "--segments", "testdata/segments.json", "--segment", key, "--now", sampleNow, "--format", "json"}, strings.NewReader(line), &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("%s on line %d: exit %d: %s", key, n+1, code, stderr.String())
			}
			var x segmatch.Explanation
			if err := json.Unmarshal(stdout.Bytes(), &x); err != nil {
				t.Fatal(err)
			}
			if x.Segment != key || x.Matched != results[n][key] {
				t.Errorf("line %d, segment %s: explain says %s %v, classify %v", n+1, key, x.Segment, x.Matched, results[n][key])
			}
			checked++
		}
		n++
	}
	if n != len(results) || checked == 0 {
		t.Fatalf("%d contacts, %d results", n, len(results))
	}
}
