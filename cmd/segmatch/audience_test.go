package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/segmatch/segmatch/audience"
)

// audienceCases are `segmatch audience` runs, checked as cliCases are
// (golden files under testdata/golden, -update rewrites them), except
// that the figures of the index-memory line are masked: they follow the
// audience package's estimates, which TestAudienceMemoryLine checks.
var audienceCases = []cliCase{
	{"audience_counts", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_jsonl_segments", []string{"audience", "--segments", "testdata/segments.jsonl", "--now", sampleNow, "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_stdin", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow},
		`{"_id": "from-stdin", "country": "IT", "tags": ["vip"], "createdAt": "2026-11-28T09:00:00Z"}` + "\n" + `{"id": 7}`, exitOK},
	{"audience_id_fields", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--id-fields", "lead_id,id", "--members", "Everyone", "-"},
		`{"_id": "x", "lead_id": "L1"}` + "\n" + `{"id": "I2", "lead_id": ""}` + "\n", exitOK},
	{"audience_members", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--members", "65f1c0ffee0000000000c001", "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_members_by_name", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--members", "Recent signups", "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_members_limit", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--members", "Everyone", "--limit", "3", "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_members_unknown", []string{"audience", "--segments", "testdata/segments.json", "--members", "65f1c0ffee0000000000c999", "testdata/audience_contacts.jsonl"}, "", exitFailure},
	{"audience_query", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--query", "testdata/audience_query.json", "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_query_count_only", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--query", "testdata/audience_query.json", "--limit", "0", "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_query_bad", []string{"audience", "--segments", "testdata/segments.json", "--query", "testdata/audience_bad_query.json", "testdata/audience_contacts.jsonl"}, "", exitFailure},
	{"audience_query_missing", []string{"audience", "--segments", "testdata/segments.json", "--query", "testdata/no_such_query.json", "testdata/audience_contacts.jsonl"}, "", exitFailure},
	{"audience_changes", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--changes", "testdata/audience_changes.jsonl", "testdata/audience_contacts.jsonl"}, "", exitOK},
	{"audience_changes_stdin", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--changes", "-", "testdata/audience_contacts.jsonl"},
		`{"_id": "c1", "_deleted": true}` + "\n" + `{"_id": "c6", "country": "IT", "tags": ["vip"], "attributes": {"age": "18"}}` + "\n", exitOK},
	{"audience_changes_bad_line", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--changes", "testdata/audience_bad_changes.jsonl", "testdata/audience_contacts.jsonl"}, "", exitFailure},
	{"audience_changes_bad_removal", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--changes", "-", "testdata/audience_contacts.jsonl"},
		`{"_id": "c1", "_deleted": true}` + "\n" + `{"_deleted": true, "_id": }` + "\n", exitFailure},
	{"audience_bad_line", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/audience_bad_contacts.jsonl"}, "", exitFailure},
	{"audience_no_id", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow},
		`{"_id": "ok"}` + "\n\n" + `{"fullname": "No Id", "lead_id": null}` + "\n", exitFailure},
	{"audience_not_object", []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow}, `["not", "an", "object"]` + "\n", exitFailure},
	{"audience_bad_segments", []string{"audience", "--segments", "../../testdata/invalid_segments.json", "testdata/audience_contacts.jsonl"}, "", exitFailure},
	{"audience_missing_contacts", []string{"audience", "--segments", "testdata/segments.json", "testdata/no_such_contacts.jsonl"}, "", exitFailure},
	{"audience_no_segments_flag", []string{"audience", "testdata/audience_contacts.jsonl"}, "", exitUsage},
	{"audience_two_modes", []string{"audience", "--segments", "testdata/segments.json", "--members", "Everyone", "--query", "testdata/audience_query.json", "testdata/audience_contacts.jsonl"}, "", exitUsage},
	{"audience_limit_alone", []string{"audience", "--segments", "testdata/segments.json", "--limit", "3", "testdata/audience_contacts.jsonl"}, "", exitUsage},
	{"audience_both_stdin", []string{"audience", "--segments", "testdata/segments.json", "--changes", "-"}, "", exitUsage},
	{"audience_bad_now", []string{"audience", "--segments", "testdata/segments.json", "--now", "yesterday", "testdata/audience_contacts.jsonl"}, "", exitUsage},
}

// The index-memory line and its sizes (figure and unit).
var (
	memoryLineRE = regexp.MustCompile(`(?m)^segmatch audience: index memory: .*$`)
	memorySizeRE = regexp.MustCompile(`\d+(\.\d)? (B|KiB|MiB|GiB)`)
)

// maskMemory replaces the sizes of the index-memory line with "SIZE".
func maskMemory(b []byte) []byte {
	return memoryLineRE.ReplaceAllFunc(b, func(line []byte) []byte {
		return memorySizeRE.ReplaceAll(line, []byte("SIZE"))
	})
}

func TestAudienceCLI(t *testing.T) {
	for _, tc := range audienceCases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			golden(t, tc.name+".stdout", stdout.Bytes())
			golden(t, tc.name+".stderr", maskMemory(stderr.Bytes()))
		})
	}
}

// TestAudienceMemoryLine: the memory line is the index's Stats, worded.
func TestAudienceMemoryLine(t *testing.T) {
	got := audienceMemoryLine(audience.Stats{Contacts: 4, Segments: 2, RawBytes: 3 << 20, MemberBytes: 100, FieldIndexBytes: 2048, OverheadBytes: 1500})
	want := "segmatch audience: index memory: the contacts' JSON 3.0 MiB, beyond it 3.6 KiB (members 100 B, field index 2.0 KiB, ids and tables 1.5 KiB), 912 B a contact"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// A run prints its index's own Stats.
	var stderr bytes.Buffer
	if code := run([]string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/audience_contacts.jsonl"}, nil, io.Discard, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	set, err := loadSegments("testdata/segments.json", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ix := audience.New(audience.Options{})
	if _, err := ix.SetSegments(set.segments()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/audience_contacts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ix.UpsertStream(f); err != nil {
		t.Fatal(err)
	}
	if want := audienceMemoryLine(ix.Stats()); !strings.Contains(stderr.String(), want+"\n") {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

// audienceRun runs segmatch audience and returns stdout, failing on a
// non-zero exit.
func audienceRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"audience"}, args...), strings.NewReader(stdin), &stdout, &stderr); code != exitOK {
		t.Fatalf("audience %v: exit %d: %s", args, code, stderr.String())
	}
	return stdout.String()
}

// TestAudienceAgreesWithClassify: on the 2,500 sample leads and their 43
// segments, the counts table is classify's, and a segment's members (one
// in eight segments) are the leads classify puts in it.
func TestAudienceAgreesWithClassify(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 2,500 sample leads eight times")
	}
	const segs, leads = "../../testdata/segments.json", "../../testdata/leads.jsonl"
	classified := audienceRunCmd(t, "classify", "--segments", segs, "--now", sampleNow, "--format", "jsonl", leads)
	want := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(classified), "\n") {
		var r struct {
			ID       string
			Segments []string
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Segments {
			want[s] = append(want[s], r.ID)
		}
	}
	counts := audienceRunCmd(t, "classify", "--segments", segs, "--now", sampleNow, "--format", "counts", leads)
	table := audienceRun(t, "", "--segments", segs, "--now", sampleNow, leads)
	if got, want := strings.Replace(table, "\tmembers\n", "\tcontacts\n", 1), counts; got != want {
		t.Errorf("audience's table:\n%s\nclassify --format counts:\n%s", got, want)
	}
	set, err := loadSegments(segs, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range set.entries {
		if i%8 != 0 { // a few: each run loads the sample
			continue
		}
		key := e.prog.Key()
		got := strings.Fields(audienceRun(t, "", "--segments", segs, "--now", sampleNow, "--id-fields", "lead_id,_id,id", "--members", key, leads))
		w := want[key]
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("segment %s: audience --members lists %d, classify %d", key, len(got), len(w))
		}
	}
}

func audienceRunCmd(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
	}
	return stdout.String()
}

// TestAudienceChangesReplay: the members before the changes, moved by
// the events --changes prints, are the members of the contacts after
// the changes, loaded afresh.
func TestAudienceChangesReplay(t *testing.T) {
	const segs = "testdata/segments.json"
	before, err := os.ReadFile("testdata/audience_contacts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := os.ReadFile("testdata/audience_changes.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	// The contacts after the changes, by hand.
	var order []string
	state := map[string]string{}
	apply := func(data []byte, removals bool) {
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			id := ""
			for _, k := range audience.DefaultIDFields {
				if v := gjson.Get(line, k); v.Exists() && v.Type != gjson.Null && v.String() != "" {
					id = v.String()
					break
				}
			}
			if removals && gjson.Get(line, "_deleted").Bool() {
				delete(state, id)
				continue
			}
			if _, ok := state[id]; !ok {
				order = append(order, id)
			}
			state[id] = line
		}
	}
	apply(before, false)
	apply(changes, true)
	var after strings.Builder
	for _, id := range order {
		if line, ok := state[id]; ok {
			after.WriteString(line + "\n")
		}
	}
	dir := t.TempDir()
	afterFile := filepath.Join(dir, "after.jsonl")
	if err := os.WriteFile(afterFile, []byte(after.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	set, err := loadSegments(segs, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	members := func(file string) map[string][]string {
		m := map[string][]string{}
		for _, e := range set.entries {
			k := e.prog.Key()
			m[k] = strings.Fields(audienceRun(t, "", "--segments", segs, "--now", sampleNow, "--members", k, file))
		}
		return m
	}
	moved := members("testdata/audience_contacts.jsonl")
	events := audienceRun(t, "", "--segments", segs, "--now", sampleNow, "--changes", "testdata/audience_changes.jsonl", "testdata/audience_contacts.jsonl")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		var ev audience.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		n++
		ms := moved[ev.Segment]
		i := slices.Index(ms, ev.Contact)
		switch {
		case ev.Entered && i >= 0:
			t.Errorf("%s entered %s, where it was", ev.Contact, ev.Segment)
		case ev.Entered:
			ms = append(ms, ev.Contact)
		case i < 0:
			t.Errorf("%s left %s, where it was not", ev.Contact, ev.Segment)
		default:
			ms = slices.Delete(ms, i, i+1)
		}
		slices.Sort(ms)
		moved[ev.Segment] = ms
	}
	if n == 0 {
		t.Fatal("no events")
	}
	for k, want := range members(afterFile) {
		if got := moved[k]; !slices.Equal(got, want) {
			t.Errorf("segment %s: before + events = %v; loaded after the changes: %v", k, got, want)
		}
	}
}

// TestAudienceProgressOnTerminal: on a terminal, stderr gets a progress
// bar (erased before the summary); stdout is exactly as without it.
func TestAudienceProgressOnTerminal(t *testing.T) {
	defer func(f func(io.Writer) bool) { isTerminal = f }(isTerminal)
	args := []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "--changes", "testdata/audience_changes.jsonl", "testdata/audience_contacts.jsonl"}
	var plainOut, plainErr bytes.Buffer
	isTerminal = func(io.Writer) bool { return false }
	if code := run(args, nil, &plainOut, &plainErr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var stdout, stderr bytes.Buffer
	isTerminal = func(io.Writer) bool { return true }
	if code := run(args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !bytes.Equal(stdout.Bytes(), plainOut.Bytes()) {
		t.Errorf("stdout with a progress bar:\n%s\nwant:\n%s", stdout.Bytes(), plainOut.Bytes())
	}
	got := stderr.String()
	if !strings.Contains(got, "lines") || !strings.Contains(got, "\r") {
		t.Errorf("no progress bar on a terminal's stderr:\n%q", got)
	}
	for _, line := range strings.SplitAfter(plainErr.String(), "\n") {
		if !strings.Contains(got, line) {
			t.Errorf("stderr lacks %q:\n%q", line, got)
		}
	}
}

// TestAudienceLongLines: a contact longer than the read buffer loads
// whole; one over the bound is a bad line, named.
func TestAudienceLongLines(t *testing.T) {
	long := `{"_id": "long", "country": "IT", "tags": ["vip"], "notes": "` + strings.Repeat("x", 300<<10) + `"}` + "\n"
	out := audienceRun(t, long, "--segments", "testdata/segments.json", "--now", sampleNow, "--members", "Italian VIPs")
	if out != "long\n" {
		t.Errorf("got %q", out)
	}
	huge := `{"_id": "huge", "notes": "` + strings.Repeat("x", audience.DefaultMaxContactBytes) + `"}` + "\n"
	for _, mode := range []string{"load", "changes"} {
		var stderr bytes.Buffer
		args := []string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow}
		stdin := long + huge
		if mode == "changes" {
			args = append(args, "--changes", "-", "testdata/audience_contacts.jsonl")
		}
		if code := run(args, strings.NewReader(stdin), io.Discard, &stderr); code != exitFailure {
			t.Fatalf("%s: exit %d: %s", mode, code, stderr.String())
		}
		if want := "stdin:2: contact too large (over 1048576 bytes)\n"; !strings.HasSuffix(stderr.String(), want) {
			t.Errorf("%s: stderr %q; want it to end with %q", mode, stderr.String(), want)
		}
	}
}
