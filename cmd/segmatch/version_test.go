package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionBinary runs `segmatch version` and `--version` on the built
// binary: the module version and the Go version, the same either way.
func TestVersionBinary(t *testing.T) {
	bin := builtBinary(t)
	var outs []string
	for _, arg := range []string{"version", "--version", "-version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Regexp(t, `^segmatch \S+\n`, string(out))
		assert.Contains(t, string(out), "go       "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n")
		outs = append(outs, string(out))
	}
	assert.Equal(t, outs[0], outs[1])
	assert.Equal(t, outs[0], outs[2])
	out, err := exec.Command(bin, "version", "extra").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, string(out))
	assert.Equal(t, exitUsage, ee.ExitCode())
	out, err = exec.Command(bin, "help").CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), "segmatch version")
}

// TestVersionStamped builds the binary with VCS stamping on (GOFLAGS may
// turn it off) and finds the checkout's commit in `segmatch version`.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "segmatch")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "commit   "+strings.TrimSpace(string(head)))
	assert.Regexp(t, `\ndate     \d{4}-\d\d-\d\dT`, string(out))
	assert.NotContains(t, string(out), "(unknown)")
}

// TestVersionText: what each piece of build info becomes.
func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	assert.Equal(t, "segmatch v1.2.3\ncommit   abc123 (with uncommitted changes)\ndate     2026-01-02T03:04:05Z\ngo       go1.99 "+runtime.GOOS+"/"+runtime.GOARCH+"\n", versionText(bi))
	assert.Equal(t, "segmatch (unknown)\ngo       "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n", versionText(nil))
}
