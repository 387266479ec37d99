package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/store/memory"
)

func preflight(f *fixture, path, origin, method, headers string) resp {
	f.t.Helper()
	h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
	if headers != "" {
		h["Access-Control-Request-Headers"] = headers
	}
	return f.do(req{method: "OPTIONS", path: path, header: h})
}

// TestCORSDefaultNone: without --cors-origins no answer carries
// Access-Control-* headers (browsers keep other sites from them), but
// OPTIONS is no longer a 405: 204 with the path's methods.
func TestCORSDefaultNone(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	r := preflight(f, segPath(p1), dashboard, "GET", "authorization")
	assert.Equal(t, http.StatusNoContent, r.status, r.raw)
	assert.Equal(t, "GET, HEAD, POST, OPTIONS", r.header.Get("Allow"))
	assert.Empty(t, r.raw)
	r = f.do(req{method: "GET", path: segPath(p1), user: agent, header: map[string]string{"Origin": dashboard}})
	assert.Equal(t, http.StatusOK, r.status)
	for k := range r.header {
		assert.NotContains(t, k, "Access-Control", k)
	}
	// A plain OPTIONS (no preflight) on each kind of path.
	for path, allow := range map[string]string{
		segPath(p1, "abc"): "GET, HEAD, PUT, DELETE, OPTIONS", segPath(p1, "classify"): "POST, OPTIONS",
		segPath(p1, "abc", "match"): "POST, OPTIONS", segPath(p1, "events"): "GET, HEAD, OPTIONS",
		"/v3/" + p1 + "/leads/l1": "GET, HEAD, PUT, DELETE, OPTIONS", "/healthz": "GET, HEAD, OPTIONS",
	} {
		r := f.do(req{method: "OPTIONS", path: path})
		assert.Equal(t, http.StatusNoContent, r.status, path)
		assert.Equal(t, allow, r.header.Get("Allow"), path)
	}
	// A path that is no route stays a 404, preflight or not.
	assert.Equal(t, http.StatusNotFound, f.do(req{method: "OPTIONS", path: "/v3/" + p1 + "/nothing"}).status)
	assert.Equal(t, http.StatusNotFound, preflight(f, "/v3/"+p1+"/nothing", dashboard, "GET", "").status)
}

// TestCORSOrigins: an allowed origin gets the headers on every answer,
// errors included; another origin gets none; every answer varies by
// Origin; credentials only when every origin is explicit.
func TestCORSOrigins(t *testing.T) {
	f := newClientFixture(t, "/v3", []string{dashboard, "https://*.tiledesk.com", "http://localhost:4200"}, false)
	for _, origin := range []string{dashboard, "https://eu.tiledesk.com", "https://a.b.tiledesk.com", "http://localhost:4200", "HTTPS://PANEL.TILEDESK.COM"} {
		r := preflight(f, segPath(p1, "abc"), origin, "DELETE", "authorization")
		assert.Equal(t, http.StatusNoContent, r.status, origin)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"), origin)
		assert.Equal(t, "DELETE", r.header.Get("Access-Control-Allow-Methods"), origin)
		assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Credentials"), origin)
		assert.Equal(t, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers", r.header.Get("Vary"), origin)
	}
	for _, origin := range []string{"https://evil.com", "https://tiledesk.com.evil.com", "http://panel.tiledesk.com", "https://panel.tiledesk.com:8443", "null", "https://tiledesk.com"} {
		r := preflight(f, segPath(p1), origin, "POST", "content-type")
		assert.Equal(t, http.StatusNoContent, r.status, origin)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"), origin)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Credentials"), origin)
		g := f.do(req{method: "GET", path: segPath(p1), user: agent, header: map[string]string{"Origin": origin}})
		assert.Equal(t, http.StatusOK, g.status, origin)
		assert.Empty(t, g.header.Get("Access-Control-Allow-Origin"), origin)
		assert.Contains(t, g.header.Values("Vary"), "Origin", origin)
	}
	// What a preflight may not ask for.
	for _, c := range []struct{ method, headers string }{{"PATCH", ""}, {"POST", "x-evil"}, {"PUT", "authorization, cookie"}} {
		r := preflight(f, segPath(p1), dashboard, c.method, c.headers)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"), c)
	}
	// Every header a Tiledesk client sends is allowed.
	r := preflight(f, segPath(p1, "abc"), dashboard, "PUT", "accept,authorization,content-type,if-match,last-event-id,x-requested-with,x-xsrf-token")
	assert.Equal(t, dashboard, r.header.Get("Access-Control-Allow-Origin"))
	// Errors carry the headers too, or the browser hides the answer.
	for _, c := range []struct {
		r      req
		status int
	}{
		{req{method: "GET", path: segPath(p1)}, http.StatusUnauthorized},
		{req{method: "GET", path: segPath(p1, "65f1c0ffee0000000000a001"), user: agent}, http.StatusNotFound},
		{req{method: "DELETE", path: segPath(p1), user: agent}, http.StatusMethodNotAllowed},
		{req{method: "GET", path: "/v3/" + p1 + "/nothing", user: agent}, http.StatusNotFound},
		{req{method: "POST", path: segPath(p1), body: `{`, user: agent}, http.StatusBadRequest},
		{req{method: "GET", path: segPath(p1), user: "user@f21.it"}, http.StatusForbidden},
	} {
		c.r.header = map[string]string{"Origin": dashboard}
		got := f.do(c.r)
		assert.Equal(t, c.status, got.status, c.r)
		assert.Equal(t, dashboard, got.header.Get("Access-Control-Allow-Origin"), c.r)
		assert.Equal(t, "true", got.header.Get("Access-Control-Allow-Credentials"), c.r)
		assert.Contains(t, got.header.Get("Access-Control-Expose-Headers"), "Www-Authenticate", c.r)
	}
}

// TestCORSAnyOrigin: "*" allows every origin, without credentials (a
// browser refuses "*" with credentials, and any site could act as its
// visitor).
func TestCORSAnyOrigin(t *testing.T) {
	f := newClientFixture(t, "/v3", []string{"*"}, false)
	r := preflight(f, segPath(p1), "https://anything.example", "POST", "authorization,content-type")
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, r.header.Get("Access-Control-Allow-Credentials"))
	g := f.do(req{method: "GET", path: segPath(p1), user: agent, header: map[string]string{"Origin": "https://x.example"}})
	assert.Equal(t, "*", g.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, g.header.Get("Access-Control-Allow-Credentials"))
	// "*" beside explicit origins is still "*", without credentials.
	f = newClientFixture(t, "/v3", []string{dashboard, "*"}, false)
	r = preflight(f, segPath(p1), dashboard, "GET", "")
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, r.header.Get("Access-Control-Allow-Credentials"))
}

// TestParseOrigins attacks the --cors-origins flag: every origin that is
// not "*" or scheme://host[:port] is refused, naming it; so is a list
// longer than MaxOrigins. New refuses what ParseOrigins refuses.
func TestParseOrigins(t *testing.T) {
	got, err := httpapi.ParseOrigins(" https://panel.tiledesk.com, http://localhost:4200 ,,https://*.tiledesk.com,* ")
	require.NoError(t, err)
	assert.Equal(t, []string{dashboard, "http://localhost:4200", "https://*.tiledesk.com", "*"}, got)
	got, err = httpapi.ParseOrigins("")
	require.NoError(t, err)
	assert.Empty(t, got)
	for _, bad := range []string{
		"panel.tiledesk.com", "null", "ftp://a.com", "https://", "https://a.com/", "https://a.com/path",
		"https://a.com?x=1", "https://a.com#f", "https://a.com?", "https://user:pw@a.com", "https://a*.com",
		"https://*a.com", "https://a.*.com", "**", "https://*.*.a.com", "javascript:alert(1)", "https://a.com\x00",
		"https://%zz.com",
	} {
		_, err := httpapi.ParseOrigins(dashboard + "," + bad)
		require.Error(t, err, "%q", bad)
		assert.True(t, errors.Is(err, httpapi.ErrBadOrigin), "%q: %v", bad, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", bad))
		assert.Panics(t, func() {
			httpapi.New(httpapi.Config{Store: memory.New(), Auth: auth.NewAuthenticator(auth.Config{}), CORSOrigins: []string{bad}})
		}, "%q", bad)
	}
	many := make([]string, httpapi.MaxOrigins+1)
	for i := range many {
		many[i] = fmt.Sprintf("https://o%d.example", i)
	}
	_, err = httpapi.ParseOrigins(strings.Join(many, ","))
	assert.ErrorIs(t, err, httpapi.ErrBadOrigin)
	_, err = httpapi.ParseOrigins(strings.Join(many[:httpapi.MaxOrigins], ","))
	assert.NoError(t, err)
}
