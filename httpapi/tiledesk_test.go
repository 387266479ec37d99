package httpapi_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/store/memory"
)

// dashboard is the origin of Tiledesk's campaign dashboard in these tests.
const dashboard = "https://panel.tiledesk.com"

// newClientFixture is the fixture with the options Tiledesk's clients
// need: CORS origins and the query-string token.
func newClientFixture(t *testing.T, prefix string, origins []string, queryToken bool) *fixture {
	t.Helper()
	users, err := auth.ParseUsers(usersFile(t))
	require.NoError(t, err)
	a := auth.NewAuthenticator(auth.Config{Users: users, JWTSecret: jwtSecret, QueryToken: queryToken})
	st := memory.New()
	logs := &syncbuf.Buffer{}
	api := httpapi.New(httpapi.Config{Prefix: prefix, Store: st, Auth: a, CORSOrigins: origins,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		st.Close()
	})
	return &fixture{t: t, st: st, api: api, srv: srv, logs: logs}
}

// tiledeskToken is a token as Tiledesk's server signs one for a user
// (passport's JWT: _id, email, sub "user", its aud and iss).
func tiledeskToken(t testing.TB, id, email string) string {
	now := time.Now()
	return token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{
		"_id": id, "email": email, "firstname": "Andrea", "lastname": "Leo", "emailverified": true,
		"sub": "user", "aud": "https://tiledesk.com", "iss": "https://tiledesk.com", "jti": "b9f3c2d1",
		"iat": now.Unix(), "exp": now.Add(30 * 24 * time.Hour).Unix(),
	})
}

// TestTiledeskReplay replays, in order, the requests Tiledesk's clients
// send to its segments routes (the documentation's curl lines, the
// dashboard's calls: URLs, bodies, Authorization: JWT and Basic, query
// strings, a browser's preflight), on the original server's routes
// ("") and the public API's (/v3), and asserts our answers, the
// deliberate differences (docs/tiledesk.md) included.
func TestTiledeskReplay(t *testing.T) {
	for _, prefix := range []string{"", "/v3"} {
		t.Run("prefix="+prefix, func(t *testing.T) { replay(t, prefix) })
	}
}

func replay(t *testing.T, prefix string) {
	f := newClientFixture(t, prefix, []string{dashboard}, true)
	base := prefix + "/" + p1 + "/segments"
	jwtHeader := "JWT " + tiledeskToken(t, "u-agent", agent)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(agent+":"+password)) // curl -u andrea.leo@f21.it:123456
	curl := func(method, path, body string) resp {
		t.Helper()
		// curl sends the Content-Type on every call, a GET's included.
		return f.do(req{method: method, path: path, body: body, ctype: "application/json", authz: basic})
	}
	dash := func(method, path, body string) resp {
		t.Helper()
		return f.do(req{method: method, path: path, body: body, authz: jwtHeader,
			header: map[string]string{"Origin": dashboard, "Accept": "application/json, text/plain, */*"}})
	}

	// Get all segments: none yet.
	r := curl("GET", base, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.JSONEq(t, `{"perPage":40,"count":0,"segments":[]}`, r.raw)

	// Create a new segment, the documentation's example body.
	r = curl("POST", base, `{ "name":"segment1", "filters": [{"field":"field1","operator":"=","value":"value1"}]}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	id := r.json["_id"].(string)
	assert.Regexp(t, `^[0-9a-f]{24}$`, id)
	assert.Equal(t, "segment1", r.json["name"])
	assert.Equal(t, "all", r.json["match"], "Tiledesk's schema default")
	assert.Equal(t, p1, r.json["id_project"])
	assert.Equal(t, "u-agent", r.json["createdBy"], "req.user.id")
	assert.EqualValues(t, 100, r.json["status"])
	for _, k := range []string{"createdAt", "updatedAt"} {
		_, err := time.Parse(time.RFC3339Nano, r.json[k].(string))
		assert.NoError(t, err, k)
	}

	// The dashboard's preflight before its PUT, then the PUT.
	pre := f.do(req{method: "OPTIONS", path: base + "/" + id, header: map[string]string{
		"Origin": dashboard, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,content-type"}})
	require.Equal(t, http.StatusNoContent, pre.status, pre.raw)
	assert.Equal(t, dashboard, pre.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "PUT", pre.header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "authorization,content-type", pre.header.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "true", pre.header.Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, "600", pre.header.Get("Access-Control-Max-Age"))
	assert.Contains(t, pre.header.Get("Vary"), "Origin")
	assert.Equal(t, "GET, HEAD, PUT, DELETE, OPTIONS", pre.header.Get("Allow"))

	// Get it by id with the dashboard's token.
	r = dash("GET", base+"/"+id, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, dashboard, r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "Etag")
	assert.Contains(t, r.header.Values("Vary"), "Origin")
	created := r.json["updatedAt"]

	// PUT with null keys: Tiledesk's `!= undefined` leaves them as they are.
	r = dash("PUT", base+"/"+id, `{"name":"segment1 renamed","match":null,"filters":null}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "segment1 renamed", r.json["name"])
	assert.Equal(t, "all", r.json["match"])
	assert.Len(t, r.json["filters"], 1)
	r = dash("PUT", base+"/"+id, `{"name":null}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "segment1 renamed", r.json["name"])
	assert.NotEqual(t, created, r.json["updatedAt"], "the first PUT moved it")
	r = dash("PUT", base+"/"+id, `{"match":"any","filters":[{"field":"country","operator":"=","value":"IT"}],"name":null}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "any", r.json["match"])
	assert.Equal(t, "segment1 renamed", r.json["name"])

	// The dashboard PUTs back what it read, one key changed.
	r = dash("GET", base+"/"+id, "")
	require.Equal(t, http.StatusOK, r.status)
	r = dash("PUT", base+"/"+id, strings.Replace(r.raw, `"segment1 renamed"`, `"segment one"`, 1))
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "segment one", r.json["name"])

	// More segments, through a trailing slash (Express's non-strict routing).
	r = curl("POST", base+"/", `{"name":"alpha","match":"any","filters":[{"field":"email","operator":"exists","value":true}]}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	alpha := r.json["_id"].(string)
	r = curl("POST", base, `{"name":"zeta","filters":[]}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	zeta := r.json["_id"].(string)

	// List parameters as the clients send them.
	order := func(r resp) []string {
		t.Helper()
		require.Equal(t, http.StatusOK, r.status, r.raw)
		var ids []string
		for _, s := range r.json["segments"].([]any) {
			ids = append(ids, s.(map[string]any)["_id"].(string))
		}
		return ids
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{zeta, alpha, id}},
		{"?page=0&limit=40&sort=createdAt&direction=-1", []string{zeta, alpha, id}},
		{"?sort=name&direction=asc", []string{alpha, id, zeta}},
		{"?sort=name&direction=1", []string{alpha, id, zeta}},
		{"?sort=name&direction=desc", []string{zeta, id, alpha}},
		{"?sort=name&direction=DESC", []string{zeta, id, alpha}},
		{"?sort=_id&direction=asc", []string{id, alpha, zeta}},
		{"?sort=_id", []string{zeta, alpha, id}},
		{"?sort=createdAt&direction=ascending", []string{id, alpha, zeta}},
		{"?limit=1&page=1&direction=1", []string{alpha}},
	} {
		assert.Equal(t, c.want, order(dash("GET", base+c.query, "")), c.query)
		assert.Equal(t, c.want, order(curl("GET", base+"/"+c.query, "")), "/"+c.query)
	}
	r = dash("GET", base+"?sort=updatedAt&direction=-1", "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	for i, s := range r.json["segments"].([]any)[1:] {
		assert.LessOrEqual(t, s.(map[string]any)["updatedAt"], r.json["segments"].([]any)[i].(map[string]any)["updatedAt"])
	}
	r = curl("GET", base+"/?limit=1", "")
	assert.EqualValues(t, 1, r.json["perPage"])
	assert.EqualValues(t, 3, r.json["count"])

	// The token in the query string (an EventSource, a link): from
	// loopback, as here, with --query-token.
	tok := tiledeskToken(t, "u-agent", agent)
	r = f.do(req{method: "GET", path: base + "?secret_token=" + tok})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 3, r.json["count"])
	r = f.do(req{method: "GET", path: base + "/" + id + "/?secret_token=" + url.QueryEscape("JWT "+tok)})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.NotContains(t, f.logs.String(), tok[len(tok)-20:], "the token is never logged")

	// Delete: the segment answered with status 0.
	r = dash("DELETE", base+"/"+alpha, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 0, r.json["status"])
	assert.Equal(t, alpha, r.json["_id"])

	// The deliberate differences.
	unknown := "5c81593adf767b0017d1aa66" // the documentation's example id
	for _, c := range []struct {
		name   string
		r      resp
		status int
		msg    string
	}{
		{"GET of a deleted id (Tiledesk: 200 with status 0)", dash("GET", base+"/"+alpha, ""), 404, "Object not found."},
		{"PUT of a deleted id (Tiledesk: updates it)", dash("PUT", base+"/"+alpha, `{"name":"back"}`), 404, "Object not found."},
		{"DELETE of a deleted id (Tiledesk: 200 again)", dash("DELETE", base+"/"+alpha, ""), 404, "Object not found."},
		{"PUT of an unknown id (Tiledesk: upserts one)", dash("PUT", base+"/"+unknown, `{"name":"x"}`), 404, "Object not found."},
		{"DELETE of an unknown id (Tiledesk: upserts one)", dash("DELETE", base+"/"+unknown, ""), 404, "Object not found."},
		{"an id that is not an ObjectId (Tiledesk: 500 CastError)", curl("GET", base+"/not-an-id", ""), 404, "Object not found."},
		{"a bad operator (Tiledesk: stored)", curl("PUT", base+"/"+id, `{"filters":[{"field":"age","operator":"older","value":1}]}`), 400, "Invalid segment."},
		{"no name (Tiledesk: 500)", curl("POST", base, `{"filters":[]}`), 400, "Invalid segment."},
		{"an unknown sort key (Tiledesk: sorts by nothing)", curl("GET", base+"?sort=status", ""), 400, "Invalid parameter."},
		{"limit=abc (Tiledesk: NaN)", curl("GET", base+"?limit=abc", ""), 400, "Invalid parameter."},
		{"a form body (Tiledesk: urlencoded parsed)", f.do(req{method: "POST", path: base, body: "name=x", ctype: "application/x-www-form-urlencoded", authz: basic}), 415, "Content-Type must be application/json"},
		{"a wrong password", f.do(req{method: "GET", path: base, user: agent, pass: "wrong"}), 401, "Unauthorized"},
		{"the role user, not agent", f.do(req{method: "GET", path: base, user: "user@f21.it"}), 403, "you dont have the required role."},
		{"another project's member", f.do(req{method: "GET", path: base + "/" + id, user: "out@f21.it"}), 403, "you dont belong to the project."},
	} {
		assert.Equal(t, c.status, c.r.status, "%s: %s", c.name, c.r.raw)
		assert.Equal(t, false, c.r.json["success"], c.name)
		assert.Equal(t, c.msg, c.r.json["msg"], c.name)
	}
	// The 400s say where.
	r = curl("PUT", base+"/"+id, `{"filters":[{"field":"age","operator":"older","value":1}]}`)
	assert.Equal(t, "/filters/0/operator", r.json["errors"].([]any)[0].(map[string]any)["path"], r.raw)
	r = curl("GET", base+"?sort=status", "")
	assert.Equal(t, "sort", r.json["errors"].([]any)[0].(map[string]any)["path"], r.raw)

	// Project scoping: the segment of p1 is not found from p2, even by
	// a member of both (Tiledesk's findById reads any project's).
	r = f.do(req{method: "GET", path: prefix + "/" + p2 + "/segments/" + id, user: "owner@f21.it"})
	assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	r = f.do(req{method: "PUT", path: prefix + "/" + p2 + "/segments/" + id, body: `{"name":"stolen"}`, user: "owner@f21.it"})
	assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	r = f.do(req{method: "DELETE", path: prefix + "/" + p2 + "/segments/" + id, user: "owner@f21.it"})
	assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	r = curl("GET", base+"/"+id, "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "segment one", r.json["name"])
	assert.EqualValues(t, 100, r.json["status"])
}
