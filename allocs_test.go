package segmatch_test

import (
	"encoding/json"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/internal/testkit/race"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestZeroAllocs: Match and MatchJSON allocate nothing on the issue-2
// workload (a nested eq, contains on an array, a numeric string).
func TestZeroAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("-race makes sync.Pool drop items; .ci/run checks allocations without -race")
	}
	prog, err := segmatch.Compile(benchSegment)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(benchContact), &m))
	raw := []byte(benchContact)
	assert.Zero(t, testing.AllocsPerRun(200, func() { prog.Match(m) }), "Match")
	assert.Zero(t, testing.AllocsPerRun(200, func() { _, _ = prog.MatchJSON(raw) }), "MatchJSON")
}
