package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// costSegments: a plain segment, an expr on the whole contact (costly
// however small its figure), an expr on a field (not), a regex of many
// instructions and an elem_match whose group holds a long ignore_case
// list.
const costSegments = `{"_id":"s1","name":"Italians","filters":[{"field":"country","operator":"=","value":"IT"},{"field":"tags","operator":"contains","value":"vip"}]}
{"_id":"s2","name":"Engaged (expr)","filters":[{"field":"country","operator":"=","value":"IT"},{"field":"","operator":"expr","value":"(attributes.score ?? 0) > 80 && len(tags) >= 2"}]}
{"_id":"s3","name":"Scoped expr","filters":[{"field":"attributes","operator":"expr","value":"(score ?? 0) > 80"}]}
{"_id":"s4","name":"Free mail","match":"any","filters":[{"field":"country","operator":"=","value":"IT"},{"match":"all","filters":[{"field":"email","operator":"regex","value":"@(gmail|yahoo|hotmail|outlook|libero|virgilio|tiscali|alice|fastwebnet|icloud|live|msn|aol|gmx|web|tin)\\.(com|it|de|net|fr)$"}]}]}
{"_id":"s5","name":"Bulk orders","filters":[{"field":"orders","operator":"elem_match","value":{"match":"all","filters":[{"field":"sku","operator":"starts_with","ignore_case":true,"value":["alpha","beta","gamma","delta","epsilon","zeta","eta","theta","iota","kappa","lambda","mu"]},{"field":"qty","operator":">","value":10}]}}]}
`

// TestValidateCostWarnings: validate warns on stderr about the costly
// segments, naming each and its costly condition's JSON Pointer; the
// exit code and stdout stay what they were, and --no-cost-warnings
// silences it.
func TestValidateCostWarnings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "segs.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(costSegments), 0o644))

	out, errs, code := runBinary(t, "", "validate", file)
	assert.Equal(t, exitOK, code, errs)
	assert.Equal(t, "5 segments OK\n", out)
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	require.Len(t, lines, 4, errs)
	assert.Equal(t, file+`: segment 1 (id s2, "Engaged (expr)", line 2): /filters/1: warning: costly: expr on the whole contact (field "") decodes every contact in full, every time: estimated at 128 of the segment's 160 ns per contact byte (the median of the 5 segments: 160); an expr on a field (such as "attributes") decodes only that field, plain conditions nothing`, lines[0])
	assert.Equal(t, file+`: segment 3 (id s4, "Free mail", line 4): /filters/1/filters/0: warning: costly: the segment is estimated at 1548 ns per contact byte, 1500 of it this regex condition (the median of the 5 segments: 160; the bound: 4096)`, lines[1])
	assert.Equal(t, file+`: segment 4 (id s5, "Bulk orders", line 5): /filters/0/value/filters/0: warning: costly: the segment is estimated at 1024 ns per contact byte, 960 of it this starts_with condition (the median of the 5 segments: 160; the bound: 4096)`, lines[2])
	assert.Equal(t, "segmatch validate: 3 cost warnings (not errors; --no-cost-warnings silences them)", lines[3])
	assert.NotContains(t, errs, "Scoped expr", "an expr on a field decodes that field only")
	assert.NotContains(t, errs, "Italians")

	out, errs, code = runBinary(t, "", "validate", "--no-cost-warnings", file)
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "5 segments OK\n", out)
	assert.Empty(t, errs)

	// A problem elsewhere: exit 1 as before, the warning as well.
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(costSegments[:strings.Index(costSegments, "\n{\"_id\":\"s3\"")+1]+
		`{"_id":"s9","name":"Typo","filters":[{"field":"country","operator":"equalz","value":"IT"}]}`+"\n"), 0o644))
	out, errs, code = runBinary(t, "", "validate", bad)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, out, `segment 2 (id s9, "Typo", line 3): /filters/0/operator`)
	assert.Contains(t, errs, `segment 1 (id s2, "Engaged (expr)", line 2): /filters/1: warning: costly: expr on the whole contact`)
	assert.Contains(t, errs, "(the median of the 2 segments: 160)")
	assert.Contains(t, errs, "1 problem: 1 of 3 segments do not compile")
	assert.Less(t, strings.Index(errs, "cost warning"), strings.Index(errs, "1 problem"), "the summary comes last")

	// The shipped sample: its one expr segment, the costliest to run.
	_, errs, code = runBinary(t, "", "validate", "../../testdata/segments.json")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, errs, `../../testdata/segments.json: segment 28 (id 65f1c0ffee0000000000a01d, "Engaged (expr)", line 30): /filters/0: warning: costly: expr on the whole contact`)
	assert.Contains(t, errs, "segmatch validate: 1 cost warning (")
}

// TestValidateCostSingle: one segment has no median to compare with; the
// warning gives the typical range instead.
func TestValidateCostSingle(t *testing.T) {
	file := filepath.Join(t.TempDir(), "one.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"_id":"x","name":"E","filters":[{"field":"","operator":"expr","value":"len(tags) > 2"}]}`), 0o644))
	var out, errb strings.Builder
	code := run([]string{"validate", file}, nil, &out, &errb)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, errb.String(), "(a typical segment: 32-160)")
}
