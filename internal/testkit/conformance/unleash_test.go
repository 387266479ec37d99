package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// conformanceDir is $SEGMATCH_CONFORMANCE, else ../shared/conformance
// beside the repository root (the directory holding go.mod).
func conformanceDir(t *testing.T) string {
	if d := os.Getenv("SEGMATCH_CONFORMANCE"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "conformance")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestUnleash translates every feature of the Unleash client
// specification files into a segment and checks every test's expected
// result, through both Program.Match (decoded contact) and
// Program.MatchJSON (raw contact).
func TestUnleash(t *testing.T) {
	dir := filepath.Join(conformanceDir(t), "unleash")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no Unleash specification files in %s (set SEGMATCH_CONFORMANCE to the directory holding unleash/)", dir)
	}
	sort.Strings(files)

	var run, passed, unknownToggles int
	var deviations []Deviation
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		suite, err := DecodeSuite(data)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		base := filepath.Base(file)

		progs := map[string]*segmatch.Program{}
		broken := map[string]error{}
		for i, f := range suite.State.Features {
			seg, devs, err := FeatureSegment(f)
			if err == nil {
				deviations = append(deviations, devs...)
				progs[f.Name], err = segmatch.Compile(seg)
			}
			if err != nil {
				broken[f.Name] = err
				t.Errorf("%s: feature %d %q does not translate: %v", base, i, f.Name, err)
			}
		}

		for i, tc := range suite.Tests {
			run++
			name := fmt.Sprintf("%s/%d/%s", base, i, tc.Description)
			ok := t.Run(name, func(t *testing.T) {
				prog, found := progs[tc.ToggleName]
				if !found {
					if err := broken[tc.ToggleName]; err != nil {
						t.Fatalf("toggle %q: %v", tc.ToggleName, err)
					}
					// Unleash: a toggle that is not defined is disabled.
					// (14-constraint-semver-operators.json asks about
					// "F8.semverAlpha", which its state does not define.)
					unknownToggles++
					if tc.ExpectedResult {
						t.Fatalf("toggle %q is not defined, yet the expected result is true", tc.ToggleName)
					}
					t.Logf("toggle %q is not defined: disabled, as in Unleash", tc.ToggleName)
					return
				}
				contact := Contact(tc.Context)
				if got := prog.Match(contact); got != tc.ExpectedResult {
					t.Errorf("Match(%v) = %v; want %v (toggle %s)", contact, got, tc.ExpectedResult, tc.ToggleName)
				}
				raw, err := json.Marshal(contact)
				if err != nil {
					t.Fatal(err)
				}
				got, err := prog.MatchJSON(raw)
				if err != nil {
					t.Fatalf("MatchJSON(%s): %v", raw, err)
				}
				if got != tc.ExpectedResult {
					t.Errorf("MatchJSON(%s) = %v; want %v (toggle %s)", raw, got, tc.ExpectedResult, tc.ToggleName)
				}
			})
			if ok {
				passed++
			}
		}
	}
	for _, d := range deviations {
		t.Logf("deviation handled: %s", d)
	}
	t.Logf("Unleash conformance: %d files, %d cases run, %d passed (%d about an undefined toggle), %d constraints adapted",
		len(files), run, passed, unknownToggles, len(deviations))
	if run == 0 {
		t.Error("no test cases found")
	}
}

// TestConstraintDeviations pins the adapter's explicit handling of the
// places where docs/semantics.md deliberately differs from Unleash: each is a
// compile error for segmatch.
func TestConstraintDeviations(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, c := range []UnleashConstraint{
		{ContextName: "x", Operator: "NOT_A_VALID_OPERATOR", Value: s("1")},
		{ContextName: "x", Operator: "REGEX", Value: s("(regex")},
		{ContextName: "x", Operator: "REGEX", Value: s("^(?=a)b$")},
		{ContextName: "x", Operator: "SEMVER_EQ", Value: s("v2.0.0")},
		{ContextName: "x", Operator: "NUM_EQ", Value: s("twelve")},
		{ContextName: "x", Operator: "IN_CIDR", Values: []string{"127.invalid", "10.0.0.0/8"}},
	} {
		f, dev := constraintFilter(c)
		if dev == "" {
			t.Errorf("%+v: no deviation recorded", c)
		}
		if err := compileOne(f); err != nil {
			t.Errorf("%+v: adapted filter does not compile: %v", c, err)
		}
		// The raw translation is indeed a compile error for segmatch.
		if c.Operator != "NUM_EQ" && c.Operator != "NOT_A_VALID_OPERATOR" {
			raw := UnleashConstraint{ContextName: c.ContextName, Operator: c.Operator, Values: c.Values, Value: c.Value}
			op := unleashOps[raw.Operator]
			var v any = str(raw.Value)
			if raw.Values != nil {
				v = raw.Values
			}
			f := filter.Cond("x", op, v)
			if err := compileOne(f); !errors.Is(err, segmatch.ErrBadValue) {
				t.Errorf("%+v: raw translation: got %v; want ErrBadValue", c, err)
			}
		}
	}
}
