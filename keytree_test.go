package segmatch_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// TestOnePassReading: raw contacts are read in one pass that keeps every
// wanted member however deep (paths deeper than the pass collects are
// read from the deepest member it kept), the last of a repeated key wins
// with everything below it, and a path through an array or a scalar is
// read as the general form reads it. Set.MatchJSON and Program.MatchJSON
// agree with Program.Match on the decoded contact.
func TestOnePassReading(t *testing.T) {
	deep := strings.Repeat("k.", 19) + "k"
	deepDoc := strings.Repeat(`{"k":`, 20) + `7` + strings.Repeat(`}`, 20)
	conds := []filter.Filter{
		filter.Cond("a.b", "eq", 1),
		filter.Cond("a.b", "ne", 2),
		filter.Cond("a.c", "eq", 2),
		filter.CondNoValue("a.b.x", "is_set"),
		filter.Cond("a.b.x", "eq", 1),
		filter.Cond("a.#", "eq", 2),
		filter.Cond(deep, "eq", 7),
		filter.CondNoValue(strings.Repeat("k.", 16)+"k", "is_set"),
		filter.Cond("a\\.b", "eq", 3),
		filter.Cond("é.ü", "eq", "x"),
	}
	docs := []string{
		`{"a":{"b":1},"a":{"c":2}}`,
		`{"a":{"c":2},"a":{"b":1}}`,
		`{"a":{"b":1},"a":[{"b":1},{"b":{"x":1}}]}`,
		`{"a":[{"b":1}],"a":{"b":{"x":1}}}`,
		`{"a":{"b":{"x":1},"b":2}}`,
		`{"a":{"b":1},"a":7}`,
		`{"a":"str","a.b":3}`,
		`{"a":null}`,
		`{"\u0061":{"\u0062":1}}`,
		`{"\u00e9":{"ü":"x"}}`,
		deepDoc,
		strings.Replace(deepDoc, `7`, `[7]`, 1),
		`{"k":{"k":[` + deepDoc + `]}}`,
	}
	var segs []filter.Segment
	var progs []*segmatch.Program
	for i, c := range conds {
		seg := filter.Segment{ID: string(rune('A' + i)), Filters: []filter.Filter{c}}
		p, err := segmatch.Compile(seg)
		require.NoError(t, err)
		segs, progs = append(segs, seg), append(progs, p)
	}
	eng, err := engine.New(segs)
	require.NoError(t, err)
	res := eng.NewResult()
	dst := res.Matches
	hits := map[string]int{}
	for _, doc := range docs {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(doc), &m), doc)
		require.NoError(t, eng.ClassifyJSONInto([]byte(doc), res))
		for i, p := range progs {
			want := p.Match(m)
			got, err := p.MatchJSON([]byte(doc))
			require.NoError(t, err)
			require.Equal(t, want, got, "Program.MatchJSON, %s on %s", p.Fields(), doc)
			require.Equal(t, want, dst[i], "engine, %s on %s", p.Fields(), doc)
			if want {
				hits[segs[i].ID]++
			}
		}
	}
	// not vacuous (the counts are what Program.Match says, checked by hand):
	// the last "a" wins with what is below it, arrays fan out, deep paths
	// are read through arrays and past the collected depth
	require.Equal(t, map[string]int{"A": 3, "B": 12, "C": 1, "D": 2, "E": 2, "F": 1, "G": 2, "H": 3, "I": 1, "J": 1}, hits)
}
