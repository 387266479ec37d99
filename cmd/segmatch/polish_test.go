package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/segmatch/segmatch/sqlgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runBinary runs the built segmatch with args (stdin: in) and returns its
// stdout, stderr and exit code.
func runBinary(t *testing.T, in string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(builtBinary(t), args...)
	cmd.Stdin = strings.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running segmatch %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("segments", "", "")
	fs.Bool("skip-bad", false, "")
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a.jsonl", "-- a.jsonl"},
		{"a.jsonl --segments s.json", "--segments s.json -- a.jsonl"},
		{"a.jsonl --skip-bad b", "--skip-bad -- a.jsonl b"},
		{"--segments=s.json a -skip-bad=false", "--segments=s.json -skip-bad=false -- a"},
		{"- --segments s", "--segments s -- -"},
		{"a -- --segments s", "-- a --segments s"},
		{"--unknown a --segments s", "--unknown --segments s -- a"},
		{"a --segments", "--segments -- a"}, // Parse says it needs a value
		{"--segments -x a", "--segments -x -- a"},
	} {
		got := strings.Join(interspersed(fs, strings.Fields(tc.in)), " ")
		assert.Equal(t, tc.want, got, "interspersed(%q)", tc.in)
	}
}

// TestFlagsAfterFile: every subcommand that takes a file reads flags that
// come after it as it reads them before, on the built binary.
func TestFlagsAfterFile(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after []string
		stdin         string
	}{
		{"classify",
			[]string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "csv", "testdata/contacts.jsonl"},
			[]string{"classify", "testdata/contacts.jsonl", "--segments", "testdata/segments.json", "--now", sampleNow, "--format", "csv"}, ""},
		{"classify_skip_bad",
			[]string{"classify", "--skip-bad", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/bad_contacts.jsonl"},
			[]string{"classify", "testdata/bad_contacts.jsonl", "--segments=testdata/segments.json", "--skip-bad", "--now", sampleNow}, ""},
		{"classify_stdin",
			[]string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow, "-"},
			[]string{"classify", "-", "--segments", "testdata/segments.json", "--now", sampleNow}, `{"lead_id": "x", "country": "IT"}` + "\n"},
		{"validate",
			[]string{"validate", "--project", "p1", "testdata/segments.json"},
			[]string{"validate", "testdata/segments.json", "--project", "p1"}, ""},
		{"explain",
			[]string{"explain", "--segments", "testdata/explain_segments.json", "--segment", "65f1c0ffee0000000000f001", "--format", "json", "testdata/explain_contact.json"},
			[]string{"explain", "testdata/explain_contact.json", "--segments", "testdata/explain_segments.json", "--segment", "65f1c0ffee0000000000f001", "--format", "json"}, ""},
		{"audience",
			[]string{"audience", "--segments", "testdata/segments.json", "--now", sampleNow, "testdata/audience_contacts.jsonl"},
			[]string{"audience", "testdata/audience_contacts.jsonl", "--segments", "testdata/segments.json", "--now", sampleNow}, ""},
		{"sql",
			[]string{"sql", "--segments", "testdata/segments.json", "--now", sampleNow},
			[]string{"sql", "--now", sampleNow, "--segments", "testdata/segments.json"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOut, wantErr, wantCode := runBinary(t, tc.stdin, tc.before...)
			out, errs, code := runBinary(t, tc.stdin, tc.after...)
			assert.Equal(t, wantCode, code, "exit code; stderr:\n%s", errs)
			assert.Equal(t, wantOut, out)
			assert.NotContains(t, errs, "required")
			assert.NotContains(t, errs, "usage")
			if wantCode == exitFailure || wantCode == exitUsage {
				assert.Equal(t, wantErr, errs)
			}
		})
	}
	// after "--" a flag-looking argument is a file
	_, errs, code := runBinary(t, "", "classify", "--segments", "testdata/segments.json", "--", "--no-such-file")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "open --no-such-file")
}

// TestSQLDDL: help lists sql; sql --ddl prints exactly the helper
// functions classify --pg installs, and defines every segmatch_*
// function the clauses of the sample segments call.
func TestSQLDDL(t *testing.T) {
	out, _, code := runBinary(t, "", "help")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "\n  segmatch sql --segments FILE")
	assert.Contains(t, out, "\n  segmatch sql --ddl\n")

	ddl, errs, code := runBinary(t, "", "sql", "--ddl")
	require.Equal(t, exitOK, code, errs)
	assert.Equal(t, ddlHeader+strings.TrimRight(sqlgen.InstallSQL(), "\n")+";\n", ddl)

	// exit 1: an expr segment is not pushed down; the others are
	clauses, errs, code := runBinary(t, "", "sql", "--segments", "../../testdata/segments.json", "--now", sampleNow)
	require.Contains(t, []int{exitOK, exitFailure}, code, errs)
	called := regexp.MustCompile(`\bsegmatch_\w+\(`).FindAllString(clauses, -1)
	require.NotEmpty(t, called, clauses)
	for _, fn := range called {
		assert.Regexp(t, `(?i)CREATE OR REPLACE FUNCTION `+regexp.QuoteMeta(fn), ddl, "the DDL defines %s", fn)
	}

	for _, args := range [][]string{
		{"sql", "--ddl", "--segments", "testdata/segments.json"},
		{"sql", "--ddl", "x.json"},
	} {
		_, errs, code := runBinary(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Contains(t, errs, "--ddl prints the helper functions alone")
	}
}

// TestValidateSummary: a file that cannot be read is counted as such, not
// as "0 of 0 segments", on the built binary.
func TestValidateSummary(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"testdata/broken_array.json"}, "1 problem: 1 of 1 file could not be read\n"},
		{[]string{"testdata/no_such_file.json", "testdata/broken_array.json"}, "2 problems: 2 of 2 files could not be read\n"},
		{[]string{"testdata/segments.jsonl", "testdata/broken_array.json", "testdata/bad_segments.jsonl"},
			"5 problems: 1 of 3 files could not be read; 3 of 9 segments do not compile\n"},
		{[]string{"testdata/segments.jsonl", "testdata/bad_segments.jsonl"}, "4 problems: 3 of 9 segments do not compile\n"},
	} {
		_, errs, code := runBinary(t, "", append([]string{"validate"}, tc.files...)...)
		assert.Equal(t, exitFailure, code, "%v", tc.files)
		assert.Equal(t, tc.want, errs, "%v", tc.files)
	}
}

// TestClassifyMaxLine: --max-line bounds a contact line (exactly the
// bound passes, a byte more is a bad line naming it), --help states the
// default, bad sizes are usage errors; a malformed line's byte offset
// says it counts from the line's start. On the built binary.
func TestClassifyMaxLine(t *testing.T) {
	line := `{"lead_id": "a", "country": "IT", "pad": "` + strings.Repeat("x", 60) + `"}`
	n := len(line)
	contacts := `{"lead_id": "short"}` + "\n" + line + "\n"
	seg := []string{"classify", "--segments", "testdata/segments.json", "--now", sampleNow}

	out, errs, code := runBinary(t, contacts, append(seg, "--max-line", fmt.Sprint(n))...)
	assert.Equal(t, exitOK, code, errs)
	assert.Equal(t, 2, strings.Count(out, "\n"))

	_, errs, code = runBinary(t, contacts, append(seg, "--max-line", fmt.Sprint(n-1))...)
	assert.Equal(t, exitFailure, code, errs)
	assert.Contains(t, errs, fmt.Sprintf("segmatch classify: stdin:2: line too long (over --max-line %d)\n", n-1))

	out, errs, code = runBinary(t, contacts, append(seg, "--skip-bad", "--max-line=64")...)
	assert.Equal(t, exitSkipped, code, errs)
	assert.Contains(t, errs, "stdin:2: skipped: line too long (over --max-line 64)\n")
	assert.Equal(t, 1, strings.Count(out, "\n"))

	_, errs, code = runBinary(t, contacts, append(seg, "--max-line", "1KiB")...)
	assert.Equal(t, exitOK, code, errs)

	for _, bad := range []string{"0", "2GiB", "abc", "-5"} {
		_, errs, code := runBinary(t, "", append(seg, "--max-line", bad)...)
		assert.Equal(t, exitUsage, code, "--max-line %s: %s", bad, errs)
	}

	_, help, code := runBinary(t, "", "classify", "--help")
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `-max-line SIZE\n.*\(default 16MiB\)\n`, help)

	_, errs, code = runBinary(t, `{"lead_id": 1}`+"\n"+`{"lead_id": "x",`+"\n", seg...)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "segmatch classify: stdin:2: malformed JSON at byte 16 of the line (from 0 at its start): want an object key\n")
}
