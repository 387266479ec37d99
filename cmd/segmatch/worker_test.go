package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The worker and publish commands need servers (worker's proof test runs
// them against real ones); here: their usage and their input checks.
func TestWorkerPublishUsage(t *testing.T) {
	for _, args := range [][]string{
		{"worker"}, {"worker", "--project", "p"}, {"worker", "--pg", "x", "--project", "p", "extra"},
		{"publish"}, {"publish", "--project", "p", "a", "b"},
	} {
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errb)
		require.Equal(t, exitUsage, code, "%v", args)
		require.Contains(t, errb.String(), "Usage: segmatch "+args[0], "%v", args)
	}
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run([]string{"worker", "-h"}, nil, &out, &errb))
	require.Contains(t, errb.String(), "-ack-wait")
	out.Reset()
	require.Equal(t, exitOK, run([]string{"help"}, nil, &out, &errb))
	require.Contains(t, out.String(), "segmatch worker --nats URL")
	require.Contains(t, out.String(), "segmatch publish --nats URL")
}

func TestPublishUnreachable(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.jsonl")
	require.NoError(t, os.WriteFile(f, []byte(`{"_id":"a","_version":1}`+"\n"), 0o644))
	var out, errb bytes.Buffer
	// Port 1 on loopback: nothing listens there.
	code := run([]string{"publish", "--nats", "nats://127.0.0.1:1", "--project", "p", f}, nil, &out, &errb)
	require.Equal(t, exitFailure, code)
	require.Contains(t, errb.String(), "segmatch publish:")
}
