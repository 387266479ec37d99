package httpapi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertNoLeak checks that an error answer is the bare JSON error, with
// nothing of the request's secrets, the store or the runtime in it.
func assertNoLeak(t *testing.T, r resp, extra ...string) {
	t.Helper()
	assert.Equal(t, false, r.json["success"], r.raw)
	for _, s := range append([]string{password, "bcrypt", "$2a$", "goroutine", ".go:", "bolt", "segment not found", jwtSecretString()}, extra...) {
		assert.NotContains(t, r.raw, s)
	}
}

func jwtSecretString() string { return string(jwtSecret) }

func TestAuthentication(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		get := segPath(p1, id)
		ok := func(r req) {
			t.Helper()
			r.method, r.path = "GET", get
			res := f.do(r)
			assert.Equal(t, http.StatusOK, res.status, res.raw)
		}
		unauthorized := func(r req) {
			t.Helper()
			r.method, r.path = "GET", get
			res := f.do(r)
			assert.Equal(t, http.StatusUnauthorized, res.status, res.raw)
			assert.Contains(t, res.header.Values("WWW-Authenticate"), `Basic realm="segmatch", charset="UTF-8"`)
			assert.Equal(t, "Unauthorized", res.json["msg"])
			assertNoLeak(t, res, id, "segment1")
		}

		ok(req{user: agent})
		ok(req{user: "ANDREA.LEO@F21.IT"}) // emails are case-insensitive
		unauthorized(req{})
		unauthorized(req{user: agent, pass: "1234567"})
		unauthorized(req{user: "nobody@f21.it"})
		unauthorized(req{authz: "Basic !!!notbase64"})
		unauthorized(req{authz: "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon"))})
		unauthorized(req{authz: "Digest username=x"})
		unauthorized(req{authz: "JWT"})

		// JWT: Tiledesk's scheme and Bearer; the user id in sub or _id.
		good := token(t, jwt.SigningMethodHS256, jwtSecret, validClaims("u-agent"))
		ok(req{authz: "JWT " + good})
		ok(req{authz: "Bearer " + good})
		ok(req{authz: "JWT " + token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"_id": "u-agent", "sub": "user", "exp": time.Now().Add(time.Minute).Unix()})})

		now := time.Now()
		for name, tok := range map[string]string{
			"expired":    token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"sub": "u-agent", "exp": now.Add(-time.Minute).Unix()}),
			"not yet":    token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"sub": "u-agent", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(10 * time.Minute).Unix()}),
			"no exp":     token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"sub": "u-agent"}),
			"future iat": token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"sub": "u-agent", "exp": now.Add(time.Hour).Unix(), "iat": now.Add(10 * time.Minute).Unix()}),
			"crit header": func() string {
				tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims("u-agent"))
				tok.Header["crit"] = []string{"exp"}
				s, err := tok.SignedString(jwtSecret)
				require.NoError(t, err)
				return s
			}(),
			"wrong secret": token(t, jwt.SigningMethodHS256, []byte("another-secret-of-32-bytes-length!!"), validClaims("u-agent")),
			"HS512":        token(t, jwt.SigningMethodHS512, jwtSecret, validClaims("u-agent")),
			"alg none":     token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims("u-agent")),
			"unknown user": token(t, jwt.SigningMethodHS256, jwtSecret, validClaims("u-ghost")),
			"no subject":   token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}),
			"garbage":      "a.b.c",
			"tampered":     tamper(good),
			"rs256 unkeyed": func() string {
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				require.NoError(t, err)
				return token(t, jwt.SigningMethodRS256, k, validClaims("u-agent"))
			}(),
			// alg confusion: HS256 signed with something public cannot help.
			"hs256 empty key": token(t, jwt.SigningMethodHS256, []byte{}, validClaims("u-agent")),
		} {
			t.Run(name, func(t *testing.T) {
				unauthorized(req{authz: "JWT " + tok})
				unauthorized(req{authz: "Bearer " + tok})
			})
		}
	})
}

// tamper changes the payload of a signed token, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), "u-agent", "u-owner", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAuthorization(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		// p2's segment, made by its member.
		r := f.as("owner@f21.it", "POST", segPath(p2), `{"name":"p2 secret"}`)
		require.Equal(t, http.StatusOK, r.status)
		id2 := r.json["_id"].(string)

		routes := func(project, sid string) []struct{ m, path, body string } {
			return []struct{ m, path, body string }{
				{"GET", segPath(project), ""},
				{"POST", segPath(project), seg1},
				{"GET", segPath(project, sid), ""},
				{"PUT", segPath(project, sid), `{"name":"hijacked"}`},
				{"DELETE", segPath(project, sid), ""},
				{"POST", segPath(project, sid, "match"), `{}`},
				{"POST", segPath(project, "classify"), `{}`},
			}
		}
		forbidden := func(user, msg string, project, sid string) {
			t.Helper()
			for _, rt := range routes(project, sid) {
				res := f.as(user, rt.m, rt.path, rt.body)
				assert.Equal(t, http.StatusForbidden, res.status, "%s %s %s", user, rt.m, rt.path)
				assert.Equal(t, msg, res.json["msg"])
				assertNoLeak(t, res, "p2 secret", "segment1")
			}
		}
		// A lower role in the project.
		forbidden("user@f21.it", "you dont have the required role.", p1, id)
		// Not a member: p1's agent in p2, p2's admin in p1.
		forbidden(agent, "you dont belong to the project.", p2, id2)
		forbidden("out@f21.it", "you dont belong to the project.", p1, id)
		forbidden(agent, "you dont belong to the project.", "someone-elses-project", id)

		// A member of both projects reaching one project's segment through
		// the other's path: not found, and nothing changes.
		for _, rt := range routes(p2, id)[2:6] {
			res := f.as("owner@f21.it", rt.m, rt.path, rt.body)
			assert.Equal(t, http.StatusNotFound, res.status, "%s %s", rt.m, rt.path)
			assertNoLeak(t, res, "segment1")
		}
		got := f.as(agent, "GET", segPath(p1, id), "")
		require.Equal(t, http.StatusOK, got.status)
		assert.Equal(t, "segment1", got.json["name"])
		assert.EqualValues(t, 100, got.json["status"])

		// A bot passes whatever its role (a guest here).
		res := f.as("bot@f21.it", "GET", segPath(p1, id), "")
		assert.Equal(t, http.StatusOK, res.status)
		res = f.as("bot@f21.it", "GET", segPath(p2, id2), "")
		assert.Equal(t, http.StatusForbidden, res.status, "but only in its projects")
		// A signed subscription token stands for itself in its project.
		sub := token(t, jwt.SigningMethodHS256, jwtSecret, jwt.MapClaims{"_id": "sub-1", "sub": "subscription", "id_project": p1, "exp": time.Now().Add(time.Hour).Unix()})
		res = f.do(req{method: "GET", path: segPath(p1, id), authz: "JWT " + sub})
		assert.Equal(t, http.StatusOK, res.status, res.raw)
		res = f.do(req{method: "GET", path: segPath(p2, id2), authz: "JWT " + sub})
		assert.Equal(t, http.StatusForbidden, res.status)
	})
}

// TestOddIDs sends ids and project ids that no store issued: each is a
// plain 404 (or 403 for a project the caller is not in), echoing nothing.
func TestOddIDs(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		f.create(seg1)
		long := strings.Repeat("a", 10*1024)
		for _, id := range []string{
			"..", "../", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", long,
			"ünïcödé", "😀", "65F1C0FFEE0000000000A001", "65f1c0ffee0000000000a00", "65f1c0ffee0000000000a0011",
			"%00", "%ff%fe", "' OR 1=1 --", "$where", "{\"$ne\":1}", "null", "0",
		} {
			path := segPath(p1) + "/" + escapeSegment(id)
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				body := ""
				if m == "PUT" {
					body = `{"name":"x"}`
				}
				res := f.as(agent, m, path, body)
				if res.status == http.StatusNotFound {
					assertNoLeak(t, res, id)
					continue
				}
				// Dot segments are cleaned by the mux (a redirect, which
				// the client follows) and land elsewhere: never a 2xx on
				// a segment, never a 5xx.
				assert.True(t, res.status == http.StatusMethodNotAllowed || res.status == http.StatusNotFound || res.status == http.StatusOK && m == "GET",
					"%s %q: %d %s", m, id, res.status, res.raw)
				assert.Less(t, res.status, 500)
			}
		}
		for _, project := range []string{long, "ünï", "..%2F" + p1} {
			res := f.as(agent, "GET", "/v3/"+project+"/segments", "")
			assert.Equal(t, http.StatusForbidden, res.status, project[:min(len(project), 20)])
			assertNoLeak(t, res, project)
		}
		// The list is unchanged by all that.
		assert.EqualValues(t, 1, f.as(agent, "GET", segPath(p1), "").json["count"])
	})
}

// escapeSegment escapes a path segment, keeping already-escaped input.
func escapeSegment(s string) string {
	if strings.Contains(s, "%") {
		return s
	}
	return url.PathEscape(s)
}
