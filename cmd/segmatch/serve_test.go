package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

func TestUsersAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	var out, errb bytes.Buffer
	add := func(stdin string, args ...string) int {
		out.Reset()
		errb.Reset()
		return run(append([]string{"users", "add", "--users", path}, args...), strings.NewReader(stdin), &out, &errb)
	}
	require.Equal(t, exitOK, add("s3cret\n", "--email", "a@b.it", "--project", "p1", "--role", "agent"), errb.String())
	assert.Contains(t, out.String(), "added user")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	// Another project's role, no new password: the hash stays.
	before, _ := auth.ReadEntries(path)
	require.Equal(t, exitOK, add("", "--email", "A@B.IT", "--project", "p2", "--role", "owner"), errb.String())
	entries, err := auth.ReadEntries(path)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, map[string]string{"p1": "agent", "p2": "owner"}, entries[0].Roles)
	assert.Equal(t, before[0].PasswordHash, entries[0].PasswordHash)
	assert.Equal(t, before[0].ID, entries[0].ID)
	assert.NotContains(t, entries[0].PasswordHash, "s3cret")

	assert.Equal(t, exitUsage, add("x\n", "--email", "c@d.it", "--project", "p1", "--role", "god"))
	assert.Equal(t, exitUsage, add("x\n", "--email", "c@d.it"))
	assert.Equal(t, exitUsage, run([]string{"users"}, nil, &out, &errb))
	assert.Equal(t, exitFailure, add("", "--email", "new@d.it", "--project", "p1"), "a new user needs a password")
	require.Equal(t, exitOK, add("pw\n", "--email", "bot@d.it", "--project", "p1", "--role", "guest", "--type", "bot"))
	us, err := auth.LoadUsers(path)
	require.NoError(t, err)
	assert.Equal(t, 2, us.Len())
	// No temporary files are left behind.
	names, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
	assert.Len(t, names, 1)
}

// server is a running `segmatch serve` process.
type server struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer starts the binary on a free loopback port and waits until
// it listens.
func startServer(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	s := &server{done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Env = append(os.Environ(), "SEGMATCH_JWT_SECRET=e2e-secret-that-is-long-enough-0123456789")
	pr, pw := io.Pipe()
	s.cmd.Stderr = pw
	require.NoError(t, s.cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		_ = s.cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.addr = <-addr:
	case <-s.done:
		t.Fatalf("server exited: %s", s.logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start: %s", s.logs())
	}
	require.True(t, strings.HasPrefix(s.addr, "127.0.0.1:"), s.addr)
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop: %s", s.logs())
	}
	assert.Equal(t, 0, s.cmd.ProcessState.ExitCode(), s.logs())
	assert.Contains(t, s.logs(), "msg=stopped")
}

// call makes one request as the seed's curl user.
func (s *server) call(t *testing.T, method, path string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("andrea.leo@f21.it", "123456")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// TestServeEndToEnd builds the binary, serves the seed's curl examples
// on loopback, stops it with SIGTERM (a request in flight finishes),
// restarts it on the same data file and finds everything still there.
func TestServeEndToEnd(t *testing.T) {
	bin := builtBinary(t)
	dir := t.TempDir()

	const project = "5b55e806c93dde00143163dd"
	users := filepath.Join(dir, "users.json")
	add := exec.Command(bin, "users", "add", "--users", users, "--email", "andrea.leo@f21.it", "--project", project, "--role", "agent")
	add.Stdin = strings.NewReader("123456\n")
	outb, err := add.CombinedOutput()
	require.NoError(t, err, string(outb))
	data := filepath.Join(dir, "segmatch.db")
	args := []string{"--data", data, "--users", users}

	s := startServer(t, bin, args...)
	base := "/v3/" + project + "/segments"
	// The seed's examples: create, get all, get by id, update, delete.
	code, seg := s.call(t, "POST", base, strings.NewReader(`{ "name":"segment1", "filters": [{"field":"field1","operator":"=","value":"value1"}]}`))
	require.Equal(t, http.StatusOK, code, seg)
	id := seg["_id"].(string)
	code, seg2 := s.call(t, "POST", base, strings.NewReader(`{"name":"to delete"}`))
	require.Equal(t, http.StatusOK, code)
	code, list := s.call(t, "GET", base, nil)
	require.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, 2, list["count"])
	code, got := s.call(t, "GET", base+"/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "segment1", got["name"])
	code, upd := s.call(t, "PUT", base+"/"+id, strings.NewReader(`{"name":"segment1 renamed"}`))
	require.Equal(t, http.StatusOK, code)
	code, _ = s.call(t, "DELETE", base+"/"+seg2["_id"].(string), nil)
	require.Equal(t, http.StatusOK, code)
	code, cls := s.call(t, "POST", base+"/classify", strings.NewReader(`{"field1":"value1"}`))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []any{id}, cls["segments"])

	// A request in flight at SIGTERM still completes.
	pr, pw := io.Pipe()
	inflight := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+s.addr+base, pr)
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("andrea.leo@f21.it", "123456")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- -1
			return
		}
		res.Body.Close()
		inflight <- res.StatusCode
	}()
	_, _ = pw.Write([]byte(`{"name":"in flight",`))
	time.Sleep(200 * time.Millisecond) // the handler is now reading the body
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(200 * time.Millisecond)
	_, _ = pw.Write([]byte(`"filters":[]}`))
	pw.Close()
	assert.Equal(t, http.StatusOK, <-inflight)
	s.stop(t)
	logs := s.logs()
	assert.Contains(t, logs, "msg=request method=POST")
	assert.NotContains(t, logs, "123456")

	// Restart on the same file: everything is still there.
	s = startServer(t, bin, args...)
	code, got = s.call(t, "GET", base+"/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, upd, got)
	code, _ = s.call(t, "GET", base+"/"+seg2["_id"].(string), nil)
	assert.Equal(t, http.StatusNotFound, code)
	code, list = s.call(t, "GET", base+"?sort=name&direction=1", nil)
	require.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, 2, list["count"])
	names := []string{}
	for _, x := range list["segments"].([]any) {
		names = append(names, x.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"in flight", "segment1 renamed"}, names)
	code, cls = s.call(t, "POST", base+"/classify", strings.NewReader(`{"field1":"value1"}`))
	require.Equal(t, http.StatusOK, code)
	assert.ElementsMatch(t, []any{id, list["segments"].([]any)[0].(map[string]any)["_id"]}, cls["segments"])
	s.stop(t)
}

func TestServeUsage(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, exitUsage, run([]string{"serve", "--log-format", "xml"}, nil, &out, &errb))
	assert.Equal(t, exitUsage, run([]string{"serve", "extra"}, nil, &out, &errb))
	for _, p := range []string{"v3", "/v3/{x}", "/a b"} { // a host, a wildcard, a space: not a path prefix
		errb.Reset()
		assert.Equal(t, exitUsage, run([]string{"serve", "--prefix", p}, nil, &out, &errb), p)
		assert.Contains(t, errb.String(), "--prefix", p)
	}
	errb.Reset()
	assert.Equal(t, exitFailure, run([]string{"serve", "--users", filepath.Join(t.TempDir(), "none.json")}, nil, &out, &errb))
	assert.Contains(t, errb.String(), "loading users")
}
