package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the segmatch binary, built once per test process for the tests
// that run it as a user would (serve end to end, the damaged data file,
// the password brake). TestMain removes it.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// builtBinary returns the built segmatch binary, building it on first use.
func builtBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "segmatch-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "segmatch")
		cmd := exec.Command("go", "build", "-o", built.path, ".")
		cmd.Stderr = os.Stderr
		built.err = cmd.Run()
	})
	if built.err != nil {
		t.Fatalf("building the binary: %v", built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
