package segmatch_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/oracle"
)

// TestProperty checks the predicate tree against itself on raw JSON and
// against the independent expr-lang oracle: for random valid segments and
// random contacts, Match(map), MatchJSON(json.Marshal(map)) and the oracle
// must agree. A disagreement is shrunk (filters dropped, groups unwrapped,
// flags cleared, contact keys and elements dropped) and printed.
func TestProperty(t *testing.T) {
	seed, segments, contacts := uint64(20260315), 10000, 6
	if testing.Short() {
		segments = 1500
	}
	// SEGMATCH_PROPERTY_SEED and SEGMATCH_PROPERTY_SEGMENTS explore
	// further (a different seed, a longer run) without editing the test.
	if v, err := strconv.ParseUint(os.Getenv("SEGMATCH_PROPERTY_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("SEGMATCH_PROPERTY_SEGMENTS")); err == nil && v > 0 {
		segments = v
	}
	now := randgen.Now
	g := randgen.New(seed)
	start := time.Now()
	pairs, failures := 0, 0
	const maxShrunk = 12
	seen := map[string]bool{}
	for i := range segments {
		// Contacts first: the generator draws segment values from the
		// contacts it made last, so conditions meet their data.
		cs := make([]map[string]any, contacts)
		for j := range cs {
			cs[j] = g.Contact()
		}
		seg := g.Segment()
		core, orc, err := compileBoth(seg, now)
		if err != nil {
			t.Fatalf("segment %d does not compile: %v\n%s", i, err, mustJSON(seg))
		}
		for _, c := range cs {
			pairs++
			if a := answer(core, orc, c); a.agree() {
				continue
			}
			failures++
			if failures > maxShrunk {
				continue
			}
			sseg, sc := shrink(seg, randgen.Clone(c), now)
			if key := mustJSON(sseg) + mustJSON(sc); !seen[key] {
				seen[key] = true
				report(t, i, sseg, sc, now)
			}
		}
	}
	t.Logf("seed %d: %d segments, %d pairs checked in %v; %d disagreements", seed, segments, pairs, time.Since(start).Round(time.Millisecond), failures)
	if failures > 0 {
		t.Errorf("%d of %d pairs disagree (the first %d shrunk, distinct ones shown)", failures, pairs, min(failures, maxShrunk))
	}
}

// compileBoth compiles the segment as a client would send it (through its
// JSON form) with the core, and directly with the oracle.
func compileBoth(seg filter.Segment, now time.Time) (*segmatch.Program, *oracle.Program, error) {
	raw, err := json.Marshal(seg)
	if err != nil {
		return nil, nil, err
	}
	var dec filter.Segment
	if err := json.Unmarshal(raw, &dec); err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	core, err := segmatch.Compile(dec, segmatch.WithNow(func() time.Time { return now }))
	if err != nil {
		return nil, nil, fmt.Errorf("core: %w", err)
	}
	orc, err := oracle.Compile(seg, now)
	if err != nil {
		return nil, nil, fmt.Errorf("oracle: %w", err)
	}
	return core, orc, nil
}

// answers are the three backends' verdicts on one pair.
type answers struct {
	match, matchJSON, oracle bool
	jsonErr, oraclePanic     string
}

func (a answers) agree() bool {
	return a.jsonErr == "" && a.oraclePanic == "" && a.match == a.matchJSON && a.match == a.oracle
}

func (a answers) String() string {
	s := fmt.Sprintf("Match=%v MatchJSON=%v oracle=%v", a.match, a.matchJSON, a.oracle)
	if a.jsonErr != "" {
		s += " (MatchJSON error: " + a.jsonErr + ")"
	}
	if a.oraclePanic != "" {
		s += " (oracle panic: " + a.oraclePanic + ")"
	}
	return s
}

func answer(core *segmatch.Program, orc *oracle.Program, c map[string]any) (a answers) {
	a.match = core.Match(c)
	raw, err := json.Marshal(c)
	if err != nil {
		a.jsonErr = err.Error()
		return a
	}
	a.matchJSON, err = core.MatchJSON(raw)
	if err != nil {
		a.jsonErr = err.Error()
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				a.oraclePanic = fmt.Sprint(r)
			}
		}()
		a.oracle = orc.Match(c)
	}()
	return a
}

// fails reports whether a (segment, contact) pair still shows a
// disagreement; a candidate that no longer compiles does not.
func fails(seg filter.Segment, c map[string]any, now time.Time) bool {
	core, orc, err := compileBoth(seg, now)
	if err != nil {
		return false
	}
	return !answer(core, orc, c).agree()
}

func report(t *testing.T, i int, seg filter.Segment, c map[string]any, now time.Time) {
	t.Helper()
	core, orc, err := compileBoth(seg, now)
	if err != nil {
		t.Errorf("segment %d: shrunk case does not compile: %v", i, err)
		return
	}
	a := answer(core, orc, c)
	t.Errorf("segment %d disagrees (shrunk):\nsegment: %s\ncontact: %s\n%s\noracle source: %s",
		i, mustJSON(seg), mustJSON(c), a, orc.Source())
}

func mustJSON(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// shrink greedily applies the first simplification that keeps the pair
// failing, until none does.
func shrink(seg filter.Segment, c map[string]any, now time.Time) (filter.Segment, map[string]any) {
	for range 500 {
		progress := false
		for _, s := range segmentVariants(seg) {
			if fails(s, c, now) {
				seg, progress = s, true
				break
			}
		}
		if progress {
			continue
		}
		for _, v := range valueVariants(c, 0) {
			m := v.(map[string]any)
			if fails(seg, m, now) {
				c, progress = m, true
				break
			}
		}
		if !progress {
			break
		}
	}
	return seg, c
}

func segmentVariants(seg filter.Segment) []filter.Segment {
	var out []filter.Segment
	if seg.Match == filter.Any {
		s := seg
		s.Match = filter.All
		out = append(out, s)
	}
	for _, fs := range listVariants(seg.Filters) {
		s := seg
		s.Filters = fs
		out = append(out, s)
	}
	return out
}

// listVariants returns every one-step simplification of a filter list.
func listVariants(fs []filter.Filter) [][]filter.Filter {
	var out [][]filter.Filter
	with := func(i int, repl ...filter.Filter) []filter.Filter {
		n := make([]filter.Filter, 0, len(fs)+len(repl))
		n = append(n, fs[:i]...)
		n = append(n, repl...)
		return append(n, fs[i+1:]...)
	}
	for i := range fs {
		out = append(out, with(i))
	}
	for i, f := range fs {
		if f.IsGroup() {
			out = append(out, with(i, f.Filters...))
			for _, sub := range listVariants(f.Filters) {
				g := f
				g.Filters = sub
				out = append(out, with(i, g))
			}
			if f.Match == filter.Any {
				g := f
				g.Match = filter.All
				out = append(out, with(i, g))
			}
		}
		if f.Negate {
			g := f
			g.Negate = false
			out = append(out, with(i, g))
		}
		if f.IgnoreCase {
			g := f
			g.IgnoreCase = false
			out = append(out, with(i, g))
		}
		if f.IsGroup() {
			continue
		}
		if f.Operator == "elem_match" {
			grp, err := filter.DecodeGroup(f.Value, "", 2)
			if err == nil {
				for _, sub := range listVariants(grp.Filters) {
					g2 := grp
					g2.Filters = sub
					g := f
					g.Value = filter.ValueOf(g2)
					out = append(out, with(i, g))
				}
			}
			continue
		}
		var val any
		if json.Unmarshal(f.Value, &val) == nil {
			if list, ok := val.([]any); ok {
				for j := range list {
					g := f
					g.Value = filter.ValueOf(append(append([]any{}, list[:j]...), list[j+1:]...))
					out = append(out, with(i, g))
				}
			}
		}
	}
	return out
}

// valueVariants returns one-step simplifications of a contact value:
// a key or element dropped, an array replaced by one element, a member
// simplified.
func valueVariants(x any, depth int) []any {
	var out []any
	switch t := x.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m := randgen.Clone(t)
			delete(m, k)
			out = append(out, m)
		}
		for _, k := range keys {
			for _, v := range valueVariants(t[k], depth+1) {
				m := randgen.Clone(t)
				m[k] = v
				out = append(out, m)
			}
		}
	case []any:
		for i := range t {
			out = append(out, append(append([]any{}, t[:i]...), t[i+1:]...))
		}
		if depth > 0 {
			out = append(out, t...)
		}
		for i, e := range t {
			for _, v := range valueVariants(e, depth+1) {
				a := append([]any{}, t...)
				a[i] = v
				out = append(out, a)
			}
		}
	}
	return out
}

// TestRegressions replays testdata/regressions.jsonl, the disagreements
// TestProperty found, through the three backends (now is randgen.Now).
func TestRegressions(t *testing.T) {
	data, err := os.ReadFile("testdata/regressions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r struct {
			Name    string          `json:"name"`
			Segment json.RawMessage `json:"segment"`
			Contact map[string]any  `json:"contact"`
			Want    bool            `json:"want"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var seg filter.Segment
		if err := json.Unmarshal(r.Segment, &seg); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		core, orc, err := compileBoth(seg, randgen.Now)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		a := answer(core, orc, r.Contact)
		if !a.agree() || a.match != r.Want {
			t.Errorf("%s: want %v, got %s", r.Name, r.Want, a)
		}
		n++
	}
	t.Logf("%d regressions", n)
}
