package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get makes an unauthenticated GET and returns the status and body.
func (s *server) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + s.addr + path)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// TestServeOperable runs the binary: /healthz at once and /readyz once
// the leads and engines are loaded, without credentials; /metrics in the
// Prometheus text format with the API's series and the Go runtime's;
// SIGHUP reloads the users file and logs it, and the server goes on.
func TestServeOperable(t *testing.T) {
	bin := builtBinary(t)
	dir := t.TempDir()
	const project = "5b55e806c93dde00143163dd"
	users := filepath.Join(dir, "users.json")
	writeUsers(t, users, "andrea.leo@f21.it", "123456")
	args := []string{"--data", filepath.Join(dir, "segmatch.db"), "--users", users}
	s := startServer(t, bin, args...)
	base := "/v3/" + project
	code, out := s.call(t, "PUT", base+"/leads/l1", strings.NewReader(`{"country":"IT"}`))
	require.Equal(t, http.StatusCreated, code, out)
	code, out = s.call(t, "POST", base+"/segments", strings.NewReader(`{"name":"it","filters":[{"field":"country","operator":"=","value":"IT"}]}`))
	require.Equal(t, http.StatusOK, code, out)
	s.stop(t)

	// Restarted on a store holding leads: ready once they are loaded.
	s = startServer(t, bin, args...)
	code, body := s.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	require.Eventually(t, func() bool { code, body = s.get(t, "/readyz"); return code == http.StatusOK }, 20*time.Second, 20*time.Millisecond, body)
	assert.JSONEq(t, `{"status":"ok","checks":{"store":"ok","leads":"ok","engine":"ok"}}`, body)
	assert.Contains(t, s.logs(), "leads ready")

	code, out = s.call(t, "POST", base+"/segments/classify", strings.NewReader(`[{"country":"IT"},{"country":"FR"}]`))
	require.Equal(t, http.StatusOK, code, out)
	req, _ := http.NewRequest("GET", "http://"+s.addr+base+"/segments", nil)
	req.SetBasicAuth("andrea.leo@f21.it", "wrong")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	code, body = s.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, series := range []string{
		`segmatch_http_requests_total{route="POST /v3/{project_id}/segments/classify",status="200"} 1`,
		`segmatch_http_requests_total{route="GET /readyz",status="200"} 1`,
		`segmatch_http_request_duration_seconds_count{route="GET /healthz",status="200"} 1`,
		`segmatch_classified_contacts_total{project="` + project + `"} 2`,
		`segmatch_engine_builds_total{result="ok"} 1`,
		`segmatch_engine_build_duration_seconds_count 1`,
		`segmatch_project_segments{project="` + project + `"} 1`,
		`segmatch_project_conditions{project="` + project + `"} 1`,
		`segmatch_auth_failures_total{reason="unauthenticated"} 1`,
		`segmatch_rate_limited_requests_total{reason="failures"} 0`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
		`go_build_info{`,
	} {
		assert.Contains(t, body, "\n"+series, series)
	}

	// SIGHUP: a reload, logged with its outcome; the server goes on.
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(s.logs(), "users reloaded") }, 10*time.Second, 10*time.Millisecond, s.logs())
	assert.Contains(t, s.logs(), "msg=\"reloading users\" signal=hangup")
	code, _ = s.get(t, "/healthz")
	assert.Equal(t, http.StatusOK, code)
	s.stop(t)
}

// TestServeNoUsersFile: serve without a users file says how to make one.
func TestServeNoUsersFile(t *testing.T) {
	var out, errb bytes.Buffer
	missing := filepath.Join(t.TempDir(), "users.json")
	assert.Equal(t, exitFailure, run([]string{"serve", "--users", missing}, nil, &out, &errb))
	assert.Contains(t, errb.String(), "there is no users file "+missing)
	assert.Contains(t, errb.String(), "segmatch users add --users "+missing+" --email EMAIL --project PROJECT_ID --role agent")
}
