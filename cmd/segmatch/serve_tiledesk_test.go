package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// TestServeCORSAndQueryTokenUsage: a bad --cors-origins is a usage
// error naming the flag and the origin, before anything is opened.
func TestServeCORSAndQueryTokenUsage(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users.json")
	writeUsers(t, users, "a@b.it", "pw")
	for _, bad := range []string{"panel.tiledesk.com", "https://a.com/", "https://a*.com", "null"} {
		var out, errb bytes.Buffer
		code := run([]string{"serve", "--users", users, "--data", filepath.Join(t.TempDir(), "d.db"), "--cors-origins", "https://ok.example," + bad}, nil, &out, &errb)
		assert.Equal(t, exitUsage, code, "%s: %s", bad, errb.String())
		assert.Contains(t, errb.String(), "--cors-origins", bad)
		assert.Contains(t, errb.String(), bad, bad)
		assert.NotContains(t, errb.String(), "listening", bad)
	}
}

// TestServeCORSAndQueryToken runs the binary with --cors-origins and
// --query-token: the dashboard's preflight is answered, its calls carry
// the CORS headers, and ?secret_token= from loopback authenticates; the
// token is never in the log. Without the flags, neither.
func TestServeCORSAndQueryToken(t *testing.T) {
	bin := builtBinary(t)
	dir := t.TempDir()
	const project = "5b55e806c93dde00143163dd"
	users := filepath.Join(dir, "users.json")
	writeUsers(t, users, "andrea.leo@f21.it", "123456")
	entries, err := auth.ReadEntries(users)
	require.NoError(t, err)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"_id": entries[0].ID, "sub": "user",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("e2e-secret-that-is-long-enough-0123456789"))
	require.NoError(t, err)
	const origin = "https://panel.tiledesk.com"
	base := "/v3/" + project + "/segments"

	do := func(s *server, method, path string, h map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+s.addr+path, nil)
		require.NoError(t, err)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	pre := map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}

	s := startServer(t, bin, "--data", filepath.Join(dir, "a.db"), "--users", users, "--cors-origins", origin+",http://localhost:4200", "--query-token")
	res := do(s, "OPTIONS", base+"/", pre)
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, origin, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	res = do(s, "GET", base+"?direction=asc&sort=_id&secret_token="+tok, map[string]string{"Origin": origin})
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, origin, res.Header.Get("Access-Control-Allow-Origin"))
	s.stop(t)
	assert.Contains(t, s.logs(), "cors_origins=2 query_token=true")
	assert.NotContains(t, s.logs(), tok[len(tok)-16:])

	s = startServer(t, bin, "--data", filepath.Join(dir, "b.db"), "--users", users)
	res = do(s, "OPTIONS", base, pre)
	assert.Equal(t, http.StatusNoContent, res.StatusCode, "OPTIONS is answered, not a 405")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
	res = do(s, "GET", base+"?secret_token="+tok, map[string]string{"Origin": origin})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
	s.stop(t)
	assert.False(t, strings.Contains(s.logs(), tok[len(tok)-16:]))
}
