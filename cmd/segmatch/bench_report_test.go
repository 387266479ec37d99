package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchReportMachine: report.md says when, with which Go, on which
// CPU and under what load it was measured; and with GOMAXPROCS=1 the two
// stream workers cannot keep two cores busy, which bench warns about on
// stderr and in the report.
func TestBenchReportMachine(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(builtBinary(t), "bench", "--segments", "5", "--contacts", "20", "--fields", "5", "--contact-bytes", "300",
		"--duration", "1ms", "--backends", "engine", "--stream", "2000", "--stream-runs", "1", "--out", dir)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	require.False(t, errors.As(err, &ee), "exit %v\nstderr: %s", err, errb.String())
	require.NoError(t, err)

	model := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		model = cpuModel(data)
	}
	load := `unknown`
	if _, err := os.Stat("/proc/loadavg"); err == nil {
		load = `\d+\.\d+ \d+\.\d+ \d+\.\d+ \(1, 5, 15 min\)`
	}
	assert.Contains(t, out.String(), "CPU: "+model+" (")

	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	header := regexp.MustCompile(`(?m)^Date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  \n` +
		`Go: ` + regexp.QuoteMeta(runtime.Version()+" ("+runtime.GOOS+"/"+runtime.GOARCH+")") + `  \n` +
		`CPU: ` + regexp.QuoteMeta(model) + `, \d+ logical CPUs  \n` +
		`Load average at the start: ` + load + `\n`)
	assert.Regexp(t, header, string(report))
	assert.Regexp(t, `Load average at the end: `+load+`\.\n`, string(report))

	warn := regexp.MustCompile(`2 workers kept \d\.\d\d cores busy, below the worker count: the machine is shared or has fewer free cores \(load average \S+ on \d+ logical CPUs, GOMAXPROCS 1\); the throughputs and the 2 workers / 1 worker ratio understate the engine on free cores`)
	assert.Regexp(t, `(?m)^segmatch bench: warning: (1 worker kept \d\.\d\d cores busy, )?`+warn.String()+`$`, errb.String())
	assert.Regexp(t, `\*\*Warning:\*\* .*`+warn.String()+`\.\n`, string(report))
	assert.NotContains(t, out.String(), "warning", "the warning is on stderr only")
}

func TestCoresShort(t *testing.T) {
	for _, tc := range []struct {
		cores   float64
		workers int
		short   bool
	}{
		{1.95, 2, false}, {1.8, 2, false}, {1.79, 2, true}, {1.0, 2, true},
		{0.95, 1, false}, {0.5, 1, true}, {2.1, 2, false},
	} {
		assert.Equal(t, tc.short, coresShort(tc.cores, tc.workers), "%.2f cores, %d workers", tc.cores, tc.workers)
	}
}

func TestCPUModel(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7B13  64-Core Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
	assert.Equal(t, "AMD EPYC 7B13 64-Core Processor", cpuModel([]byte(x86)))
	arm := "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
	assert.Equal(t, "unknown", cpuModel([]byte(arm)))
	assert.Equal(t, "unknown", cpuModel(nil))
	assert.Equal(t, "unknown", cpuModel([]byte("model name\t:   \n")))
}
