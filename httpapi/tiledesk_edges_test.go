package httpapi_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/store/memory"
)

// TestTrailingSlash: one trailing slash is ignored on every route, as
// Express's non-strict routing does; more is no route.
func TestTrailingSlash(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	id := f.create(seg1)
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", segPath(p1) + "/", "", 200},
		{"GET", segPath(p1) + "/?limit=1&direction=asc", "", 200},
		{"POST", segPath(p1) + "/", `{"name":"b","filters":[]}`, 200},
		{"GET", segPath(p1, id) + "/", "", 200},
		{"PUT", segPath(p1, id) + "/", `{"name":"c"}`, 200},
		{"POST", segPath(p1, id, "match") + "/", `{"field1":"value1"}`, 200},
		{"POST", segPath(p1, "classify") + "/", `{"field1":"value1"}`, 200},
		{"GET", segPath(p1, id, "count") + "/", "", 200},
		{"PUT", "/v3/" + p1 + "/leads/l1/", `{"field1":"value1"}`, 201},
		{"GET", "/healthz/", "", 200},
		{"GET", segPath(p1) + "//", "", 404},
		{"GET", "/v3/" + p1 + "/", "", 404},
		{"PATCH", segPath(p1) + "/", "", 405},
		{"GET", segPath(p1, id) + "%2F", "", 404}, // the id "<id>/", not <id>
		{"GET", segPath(p1, id) + "%2F/", "", 404},
	} {
		r := f.as(agent, c.method, c.path, c.body)
		assert.Equal(t, c.status, r.status, "%s %s: %s", c.method, c.path, r.raw)
	}
	r := f.as(agent, "GET", "/", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	// The route is logged without the slash, as the route it served.
	assert.Contains(t, f.logs.String(), `route="GET /v3/{project_id}/segments/{id}"`)
}

// TestPutNulls: a PUT's top-level null is as absent (Tiledesk's
// `!= undefined`), and only that: nulls inside filters are values, a
// repeated key is refused even when one is null, and a body that is not
// one object is refused as before.
func TestPutNulls(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	id := f.create(`{"name":"n","match":"any","filters":[{"field":"a","operator":"=","value":1}]}`)
	put := func(body string) resp { t.Helper(); return f.as(agent, "PUT", segPath(p1, id), body) }
	for _, body := range []string{`{"name":null}`, ` { "name" : null , "match":null,"filters"  :null } `, "{\"name\":\n\tnull}", `{"_id":null,"createdAt":null,"status":null}`, `{}`} {
		r := put(body)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", body, r.raw)
		assert.Equal(t, "n", r.json["name"], body)
		assert.Equal(t, "any", r.json["match"], body)
		assert.Len(t, r.json["filters"], 1, body)
	}
	r := put(`{"name":"m","filters":null}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "m", r.json["name"])
	assert.Len(t, r.json["filters"], 1)
	// null inside a filter is a value (= null), kept.
	r = put(`{"name":null,"filters":[{"field":"a","operator":"=","value":null}]}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Contains(t, r.raw, `"value":null`)
	assert.Equal(t, "m", r.json["name"])
	for _, c := range []struct{ body, path string }{
		{`{"name":null,"name":"x"}`, "/name"},
		{`{"name":"x","name":null}`, "/name"},
		{`{"name":null,"bogus":1}`, "/bogus"},
		{`{"name":"","match":null}`, "/name"},
	} {
		r := put(c.body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", c.body, r.raw)
		assert.Contains(t, r.raw, `"path":"`+c.path+`"`, c.body)
	}
	for _, body := range []string{`null`, `[null]`, `{"name":null} {}`, `{"name":null`, `{"name":nul}`} {
		r := put(body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", body, r.raw)
	}
	g := f.as(agent, "GET", segPath(p1, id), "")
	assert.Equal(t, "m", g.json["name"])
}

// TestQueryTokenOverHTTP: the API's answers to ?secret_token=: 401 with a
// message saying what to do when refused (off, plain HTTP from afar,
// repeated, too long), never the token in an answer or a log line;
// accepted over TLS, via a trusted proxy's https, or from loopback.
func TestQueryTokenOverHTTP(t *testing.T) {
	proxies, err := auth.ParseProxies("10.0.0.0/8")
	require.NoError(t, err)
	f, _ := newAuthFixture(t, auth.Config{QueryToken: true, TrustedProxies: proxies})
	off := newFixture(t, memory.New(), "/v3")
	tok := tiledeskToken(t, "u-agent", agent)
	path := segPath(p1) + "?limit=5&secret_token=" + tok

	r := f.do(req{method: "GET", path: path}) // loopback
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 5, r.json["perPage"])

	direct := func(remote string, tlsOn bool, h map[string]string, p string) *httptest.ResponseRecorder {
		hr := httptest.NewRequest("GET", p, nil)
		hr.RemoteAddr = remote
		hr.TLS = nil
		if tlsOn {
			hr.TLS = &tls.ConnectionState{}
		}
		for k, v := range h {
			hr.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		f.api.ServeHTTP(rec, hr)
		return rec
	}
	assert.Equal(t, http.StatusOK, direct("198.51.100.7:443", true, nil, path).Code)
	assert.Equal(t, http.StatusOK, direct("10.9.9.9:80", false, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}, path).Code)
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"plain HTTP from afar":              direct("198.51.100.7:80", false, nil, path),
		"a trusted proxy over plain HTTP":   direct("10.9.9.9:80", false, map[string]string{"X-Forwarded-Proto": "http"}, path),
		"repeated":                          direct("127.0.0.1:80", false, nil, path+"&secret_token="+tok),
		"too long":                          direct("127.0.0.1:80", false, nil, segPath(p1)+"?secret_token="+strings.Repeat("x", auth.MaxQueryTokenBytes+1)),
		"off (the default) on the fixture ": nil,
	} {
		if rec == nil {
			got := off.do(req{method: "GET", path: path})
			rec = httptest.NewRecorder()
			for k, v := range got.header {
				rec.Header()[k] = v
			}
			_, _ = rec.WriteString(got.raw)
			rec.Code = got.status
		}
		assert.Equal(t, http.StatusUnauthorized, rec.Code, name)
		assert.Contains(t, rec.Body.String(), "secret_token refused", name)
		assert.Contains(t, rec.Body.String(), "Authorization: JWT", name)
		assert.NotContains(t, rec.Body.String(), tok[len(tok)-16:], name)
		assert.NotEmpty(t, rec.Header().Values("WWW-Authenticate"), name)
	}
	// A bad token in the URL is a plain 401.
	r = f.do(req{method: "GET", path: segPath(p1) + "?secret_token=" + tok + "x"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "Unauthorized", r.json["msg"])
	// The header wins over the URL: a wrong password is not rescued.
	r = f.do(req{method: "GET", path: path, user: agent, pass: "wrong"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	for _, logs := range []string{f.logs.String(), off.logs.String()} {
		assert.NotContains(t, logs, tok[len(tok)-16:])
		assert.NotContains(t, logs, "secret_token=")
	}
}
