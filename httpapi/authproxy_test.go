package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// TestAuthForwardedForForms: behind a trusted proxy that writes the
// client's port, or brackets, in X-Forwarded-For, each client keeps its
// own failure limit (they all were the proxy: one guesser locked out
// everyone behind it). A request naming no client is limited apart.
func TestAuthForwardedForForms(t *testing.T) {
	proxy, err := auth.ParseProxies("127.0.0.1")
	require.NoError(t, err)
	f, a := newAuthFixture(t, auth.Config{Limits: auth.Limits{FailuresPerAddress: 2, FailuresPerEmail: 100, Tarpit: -1}, TrustedProxies: proxy})
	get := segPath(p1)
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113.1:5000")}).status)
	}
	assertLimited(t, f.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113.1:5001")}), 1)
	for _, hop := range []string{"203.0.113.2:6000", "[2001:db8:1::1]", "[2001:db8:2::1]:443"} {
		assert.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff(hop)}).status, hop)
	}
	assert.Equal(t, http.StatusOK, f.do(req{method: "GET", path: get, user: agent, header: xff("[2001:db8:3::1]:443")}).status)
	// No header: an unknown client via the proxy, limited apart from the
	// forwarded clients, and counted.
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: get, user: "owner@f21.it", pass: "x"}).status)
	}
	assertLimited(t, f.do(req{method: "GET", path: get, user: "owner@f21.it", pass: "x"}), 1)
	assert.EqualValues(t, 3, a.Stats().UnknownClients)
	assert.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: get, user: "owner@f21.it", pass: "x", header: xff("203.0.113.3:1")}).status)
}
