package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --refresh: documented, 0 maps to the worker's "never" (a negative
// period), a negative flag or one under the events' duplicate window
// is a usage error.
func TestWorkerRefreshFlag(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run([]string{"worker", "-h"}, nil, &out, &errb))
	require.Contains(t, errb.String(), "-refresh")
	require.Contains(t, errb.String(), "refresh_events")
	errb.Reset()
	require.Equal(t, exitUsage, run([]string{"worker", "--pg", "x", "--refresh", "-1s"}, strings.NewReader(""), &out, &errb))
	require.Contains(t, errb.String(), "Usage: segmatch worker")
	errb.Reset()
	// below the events' duplicate window, a transition repeated by time
	// alone would be dropped as a duplicate
	require.Equal(t, exitUsage, run([]string{"worker", "--pg", "x", "--refresh", "90s"}, strings.NewReader(""), &out, &errb))
	require.Contains(t, errb.String(), "duplicate window")
	require.Negative(t, refreshOption(0))
	require.Equal(t, 5*time.Minute, refreshOption(5*time.Minute))
}
