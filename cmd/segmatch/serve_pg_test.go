package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServePostgres: serve --pg keeps segments and leads in PostgreSQL
// (a fresh schema): after a SIGKILL, a server started on the same
// database answers with every acknowledged segment and lead, and a
// second server sharing the database serves the segments the first
// wrote. It needs SEGMATCH_PG_DSN (source .ci/pg).
func TestServePostgres(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "serve_test")
	bin := builtBinary(t)
	dir := t.TempDir()
	const project = "5b55e806c93dde00143163dd"
	users := filepath.Join(dir, "users.json")
	add := exec.Command(bin, "users", "add", "--users", users, "--email", "andrea.leo@f21.it", "--project", project, "--role", "agent")
	add.Stdin = strings.NewReader("123456\n")
	outb, err := add.CombinedOutput()
	require.NoError(t, err, string(outb))
	args := []string{"--pg", dsn, "--users", users, "--shutdown-timeout", "20s"}

	s := startServer(t, bin, args...)
	base := "/v3/" + project
	code, seg := s.call(t, "POST", base+"/segments", strings.NewReader(`{"name":"it","filters":[{"field":"country","operator":"=","value":"IT"}]}`))
	require.Equal(t, http.StatusOK, code, seg)
	id := seg["_id"].(string)
	for i, c := range []string{"IT", "FR", "IT"} {
		code, out := s.call(t, "PUT", base+"/leads/l"+fmt.Sprint(i), strings.NewReader(`{"country":"`+c+`"}`))
		require.Equal(t, http.StatusCreated, code, out)
	}
	code, out := s.call(t, "GET", base+"/segments/"+id+"/count", nil)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 2, out["count"])

	other := startServer(t, bin, args...) // a second server on the same database
	code, out = other.call(t, "GET", base+"/segments/"+id, nil)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "it", out["name"])
	other.stop(t)

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
	s = startServer(t, bin, args...)
	code, out = s.call(t, "GET", base+"/segments/"+id+"/count", nil)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 2, out["count"], "every acknowledged lead is in PostgreSQL")
	code, out = s.call(t, "GET", base+"/segments/"+id+"/leads", nil)
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["leads"], 2)
	s.stop(t)
}

// TestServeStoreFlags: --data and --pg together are a usage error.
func TestServeStoreFlags(t *testing.T) {
	var stderr strings.Builder
	code := run([]string{"serve", "--data", "x.db", "--pg", "postgres://localhost/x"}, nil, &strings.Builder{}, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "--data and --pg name two stores")
}
