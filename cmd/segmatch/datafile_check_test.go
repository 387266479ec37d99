package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
)

const checkProject = "5b55e806c93dde00143163dd"

// dataFile writes a store of n segments and returns its path.
func dataFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "segmatch.db")
	st, err := bolt.Open(path)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		_, err := st.Create(context.Background(), checkProject, "u", filter.Segment{Name: fmt.Sprint("s", i),
			Filters: []filter.Filter{filter.Cond("tags", "contains", fmt.Sprint("t", i))}})
		require.NoError(t, err)
	}
	require.NoError(t, st.Close())
	return path
}

// damagedFiles are the attacks on the data file: truncated (as by
// `truncate -s 8192`, and mid-page), data pages overwritten, both meta
// pages overwritten, emptied, and a file that is no store at all.
func damagedFiles(t *testing.T) map[string]string {
	t.Helper()
	good := dataFile(t, 300)
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	noise := func(b []byte) {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	files := map[string][]byte{
		"truncated to 8192":  data[:8192],
		"truncated mid-page": data[:len(data)/2+100],
		"empty":              {},
		"not a store":        []byte(`[{"name":"a","filters":[]}]` + strings.Repeat(" ", 8000)),
	}
	pages := bytes.Clone(data)
	noise(pages[2*4096 : len(pages)/2])
	files["data pages overwritten"] = pages
	metas := bytes.Clone(data)
	noise(metas[:128])
	noise(metas[4096 : 4096+128])
	files["meta pages overwritten"] = metas
	paths := map[string]string{}
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".db")
		require.NoError(t, os.WriteFile(p, b, 0o600))
		paths[name] = p
	}
	return paths
}

// TestServeDamagedData: `segmatch serve --data FILE` on a damaged file
// exits 1 saying what is wrong with which file, and leaves it as it was.
func TestServeDamagedData(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users.json")
	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run([]string{"users", "add", "--users", users, "--email", "a@b.it", "--project", checkProject, "--role", "agent"},
		strings.NewReader("pw\n"), &out, &errb), errb.String())
	for name, path := range damagedFiles(t) {
		t.Run(name, func(t *testing.T) {
			before, _ := os.ReadFile(path)
			var out, errb bytes.Buffer
			code := run([]string{"serve", "--addr", "127.0.0.1:0", "--data", path, "--users", users}, nil, &out, &errb)
			assert.Equal(t, exitFailure, code, errb.String())
			assert.Contains(t, errb.String(), "opening the store")
			assert.Contains(t, errb.String(), "segment store file is damaged")
			assert.Contains(t, errb.String(), path)
			assert.NotContains(t, errb.String(), "msg=listening")
			after, _ := os.ReadFile(path)
			assert.Equal(t, before, after, "the file changed")
		})
	}
}

// TestServeBinaryStore runs the built binary. The reported attack:
// `truncate -s 8192 segmatch.db; segmatch serve` used to die of a fault
// in bbolt's map; now it exits 1 with the message. And the limit flags
// reach the store: with --max-segments 2 a third create is 422.
func TestServeBinaryStore(t *testing.T) {
	bin := builtBinary(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "users.json")
	add := exec.Command(bin, "users", "add", "--users", users, "--email", "andrea.leo@f21.it", "--project", checkProject, "--role", "agent")
	add.Stdin = strings.NewReader("123456\n")
	outb, err := add.CombinedOutput()
	require.NoError(t, err, string(outb))

	t.Run("truncated", func(t *testing.T) {
		data := dataFile(t, 300)
		require.NoError(t, os.Truncate(data, 8192))
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--users", users)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		require.Error(t, err)
		assert.Equal(t, exitFailure, cmd.ProcessState.ExitCode(), stderr.String())
		assert.Contains(t, stderr.String(), "the file is truncated")
		assert.Contains(t, stderr.String(), data)
		assert.NotContains(t, stderr.String(), "fatal error")
		assert.NotContains(t, stderr.String(), "goroutine")
	})

	t.Run("limits", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "segmatch.db")
		s := startServer(t, bin, "--data", data, "--users", users, "--max-segments", "2", "--max-project-bytes", "1MiB")
		base := "/v3/" + checkProject + "/segments"
		for _, name := range []string{"one", "two"} {
			code, body := s.call(t, "POST", base, strings.NewReader(`{"name":"`+name+`"}`))
			require.Equal(t, http.StatusOK, code, body)
		}
		code, body := s.call(t, "POST", base, strings.NewReader(`{"name":"three"}`))
		assert.Equal(t, http.StatusUnprocessableEntity, code, body)
		assert.Contains(t, body["msg"], "limit")
		s.stop(t)
	})
}

// TestClassifyDamagedData: `segmatch classify --segments DATAFILE` on a
// damaged data file exits 1 with the message.
func TestClassifyDamagedData(t *testing.T) {
	for name, path := range damagedFiles(t) {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run([]string{"classify", "--segments", path, "--project", checkProject}, strings.NewReader(`{"tags":["t1"]}`+"\n"), &out, &errb)
			assert.Equal(t, exitFailure, code, errb.String())
			assert.Empty(t, out.String())
			switch name {
			case "not a store", "empty", "meta pages overwritten":
				// Not recognised as a data file (no meta page left to
				// say so): read as a segments file, refused as one.
				assert.Contains(t, errb.String(), path)
			default:
				assert.Contains(t, errb.String(), "segment store file is damaged", errb.String())
			}
		})
	}
}

func TestStoreLimitFlags(t *testing.T) {
	parse := func(args ...string) (store.Limits, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		limits := storeLimitFlags(fs)
		err := fs.Parse(args)
		return limits(), err
	}
	l, err := parse()
	require.NoError(t, err)
	assert.Equal(t, store.Limits{MaxSegments: store.DefaultMaxSegments, MaxBytes: store.DefaultMaxProjectBytes}, l)
	l, err = parse("--max-segments", "5", "--max-project-bytes", "3MiB")
	require.NoError(t, err)
	assert.Equal(t, store.Limits{MaxSegments: 5, MaxBytes: 3 << 20}, l)
	l, err = parse("--max-segments", "0", "--max-project-bytes", "0")
	require.NoError(t, err)
	assert.Equal(t, store.Limits{MaxSegments: -1, MaxBytes: -1}, l, "0 is no limit")
	l, err = parse("--max-project-bytes", "1048576")
	require.NoError(t, err)
	assert.EqualValues(t, 1<<20, l.MaxBytes)
	for _, bad := range []string{"-1", "lots", "1.5MiB", "99999999999GiB", ""} {
		_, err := parse("--max-project-bytes", bad)
		assert.Error(t, err, bad)
	}
}
