package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/store/memory"
)

// newAuthFixture is the fixture (memory store) with an authenticator of
// cfg (its Users and JWTSecret are the fixture's when unset).
func newAuthFixture(t *testing.T, cfg auth.Config) (*fixture, *auth.Authenticator) {
	t.Helper()
	if cfg.Users == nil {
		users, err := auth.ParseUsers(usersFile(t))
		require.NoError(t, err)
		cfg.Users = users
	}
	if cfg.JWTSecret == nil {
		cfg.JWTSecret = jwtSecret
	}
	a, err := auth.New(cfg)
	require.NoError(t, err)
	st := memory.New()
	logs := &syncbuf.Buffer{}
	api := httpapi.New(httpapi.Config{Prefix: "/v3", Store: st, Auth: a, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		st.Close()
	})
	return &fixture{t: t, st: st, api: api, srv: srv, logs: logs}, a
}

// from returns a client whose connections come from the loopback
// address ip (any of 127.0.0.0/8 reaches the server on 127.0.0.1), so
// that the server sees distinct client addresses.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// doWith is f.do through client c.
func (f *fixture) doWith(c *http.Client, r req) resp {
	f.t.Helper()
	hr, err := http.NewRequest(r.method, f.srv.URL+r.path, nil)
	require.NoError(f.t, err)
	if r.user != "" {
		p := password
		if r.pass != "" {
			p = r.pass
		}
		hr.SetBasicAuth(r.user, p)
	}
	if r.authz != "" {
		hr.Header.Set("Authorization", r.authz)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	res, err := c.Do(hr)
	require.NoError(f.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(f.t, err)
	out := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.json)
	return out
}

// assertLimited checks a 429 answer: Tiledesk-shaped, with a Retry-After
// of whole seconds, at least min.
func assertLimited(t *testing.T, r resp, min int) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
	assert.Equal(t, "Too many requests.", r.json["msg"])
	assertNoLeak(t, r)
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.header.Get("Retry-After"))
	assert.GreaterOrEqual(t, ra, min)
	assert.Empty(t, r.header.Values("WWW-Authenticate"), "not a 401: nothing to retry with now")
}

func TestAuthLimitPerAddress(t *testing.T) {
	f, a := newAuthFixture(t, auth.Config{Limits: auth.Limits{FailuresPerAddress: 3, FailuresPerEmail: 100, FailureWindow: time.Minute, Tarpit: -1}})
	get := segPath(p1)
	// The honest agent, proven before the attack.
	require.Equal(t, http.StatusOK, f.do(req{method: "GET", path: get, user: agent}).status)
	for _, u := range []string{agent, "owner@f21.it", "nobody@f21.it"} {
		r := f.do(req{method: "GET", path: get, user: u, pass: "wrong"})
		require.Equal(t, http.StatusUnauthorized, r.status, r.raw)
	}
	checks := a.Stats().PasswordChecks
	for _, u := range []string{agent, "owner@f21.it", "user@f21.it", "nobody@f21.it"} {
		r := f.do(req{method: "GET", path: get, user: u, pass: "wrong"})
		assertLimited(t, r, 10) // one failure back every 60 s / 3 (20 s less the time the checks took)
	}
	// Even a right password not proven lately is limited from here...
	assertLimited(t, f.do(req{method: "GET", path: get, user: "owner@f21.it"}), 1)
	assert.Equal(t, checks, a.Stats().PasswordChecks, "429s cost no bcrypt")
	assert.EqualValues(t, 5, a.Stats().RateLimited)
	// ... but the proven one is served: the honest agent is unaffected.
	assert.Equal(t, http.StatusOK, f.do(req{method: "GET", path: get, user: agent}).status)
	// So are JWTs (cheap to check, not limited) and other addresses.
	assert.Equal(t, http.StatusOK, f.do(req{method: "GET", path: get, authz: "JWT " + token(t, jwt.SigningMethodHS256, jwtSecret, validClaims("u-owner"))}).status)
	assert.Equal(t, http.StatusOK, f.doWith(from("127.0.0.2"), req{method: "GET", path: get, user: "owner@f21.it"}).status)
	// The log says 429 and who was limited, never the password.
	assert.Contains(t, f.logs.String(), "status=429")
	assert.NotContains(t, f.logs.String(), "wrong")
}

func TestAuthLimitPerEmail(t *testing.T) {
	f, _ := newAuthFixture(t, auth.Config{Limits: auth.Limits{FailuresPerAddress: 100, FailuresPerEmail: 3, FailureWindow: time.Minute, Tarpit: -1}})
	get := segPath(p1)
	for i := range 3 { // three addresses, one email
		r := f.doWith(from("127.0.1."+strconv.Itoa(i+1)), req{method: "GET", path: get, user: "owner@f21.it", pass: "guess"})
		require.Equal(t, http.StatusUnauthorized, r.status, r.raw)
	}
	c := from("127.0.1.9") // a fourth address
	assertLimited(t, f.doWith(c, req{method: "GET", path: get, user: "owner@f21.it", pass: "guess"}), 10)
	assertLimited(t, f.doWith(c, req{method: "GET", path: get, user: "OWNER@f21.it"}), 1)
	// Other emails from the same addresses are not affected.
	assert.Equal(t, http.StatusOK, f.doWith(c, req{method: "GET", path: get, user: agent}).status)
	// An unknown email is limited just as a known one.
	for i := range 3 {
		r := f.doWith(from("127.0.2."+strconv.Itoa(i+1)), req{method: "GET", path: get, user: "ghost@f21.it", pass: "guess"})
		require.Equal(t, http.StatusUnauthorized, r.status, r.raw)
	}
	assertLimited(t, f.doWith(c, req{method: "GET", path: get, user: "ghost@f21.it", pass: "guess"}), 1)
}

// TestAuthForwardedFor: X-Forwarded-For names the client only from a
// trusted proxy.
func TestAuthForwardedFor(t *testing.T) {
	limits := auth.Limits{FailuresPerAddress: 2, FailuresPerEmail: 100, Tarpit: -1}
	get := segPath(p1)
	xff := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

	// Untrusted: the header is ignored, the attacker cannot escape its limit.
	f, _ := newAuthFixture(t, auth.Config{Limits: limits})
	for i := range 2 {
		r := f.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113." + strconv.Itoa(i))})
		require.Equal(t, http.StatusUnauthorized, r.status)
	}
	assertLimited(t, f.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113.99")}), 1)

	// Behind a trusted proxy (the loopback here), each forwarded client
	// has its own limit.
	proxy, err := auth.ParseProxies("127.0.0.1")
	require.NoError(t, err)
	g, _ := newAuthFixture(t, auth.Config{Limits: limits, TrustedProxies: proxy})
	for range 2 {
		r := g.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113.1")})
		require.Equal(t, http.StatusUnauthorized, r.status)
	}
	assertLimited(t, g.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113.1")}), 1)
	// A client prepending its own hop gains nothing: the rightmost
	// untrusted hop is the client.
	assertLimited(t, g.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("198.51.100.7, 203.0.113.1")}), 1)
	assert.Equal(t, http.StatusUnauthorized, g.do(req{method: "GET", path: get, user: agent, pass: "x", header: xff("203.0.113.2")}).status)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, proxy)
}

// TestAuthTarpit: with the default limits, a client that keeps sending
// wrong passwords from one address gets its 429s late (the tarpit).
func TestAuthTarpit(t *testing.T) {
	f, a := newAuthFixture(t, auth.Config{})
	get := segPath(p1)
	for i := range auth.DefaultFailuresPerAddress { // spread over the emails, under their own limit
		u := testUsers[i%len(testUsers)].Email
		require.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: get, user: u, pass: "x"}).status)
	}
	start := time.Now()
	assertLimited(t, f.do(req{method: "GET", path: get, user: agent, pass: "x"}), 1)
	assert.GreaterOrEqual(t, time.Since(start), auth.DefaultTarpit)
	assert.EqualValues(t, auth.DefaultFailuresPerAddress, a.Stats().PasswordChecks)
}

// TestAuthCacheSkipsBcrypt counts bcrypt comparisons: an honest client
// repeating its Basic credentials pays one, until a reload.
func TestAuthCacheSkipsBcrypt(t *testing.T) {
	f, a := newAuthFixture(t, auth.Config{})
	for range 20 {
		require.Equal(t, http.StatusOK, f.as(agent, "GET", segPath(p1), "").status)
	}
	s := a.Stats()
	assert.EqualValues(t, 1, s.PasswordChecks)
	assert.EqualValues(t, 19, s.CacheHits)
	// A wrong password is checked every time (and never cached).
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: segPath(p1), user: agent, pass: "nope"}).status)
	}
	assert.EqualValues(t, 4, a.Stats().PasswordChecks)
	// A reload forgets what was proven.
	users, err := auth.ParseUsers(usersFile(t))
	require.NoError(t, err)
	a.SetUsers(users)
	for range 3 {
		require.Equal(t, http.StatusOK, f.as(agent, "GET", segPath(p1), "").status)
	}
	assert.EqualValues(t, 5, a.Stats().PasswordChecks)
}

// TestAuthBusy: with every bcrypt slot taken and no wait allowed, a
// password check is a 503 with Retry-After, not a queue.
func TestAuthBusy(t *testing.T) {
	// A slow hash holds the one slot for a while.
	slow, err := bcrypt.GenerateFromPassword([]byte("slow"), 11)
	require.NoError(t, err)
	doc, err := json.Marshal(append([]auth.Entry{{ID: "u-slow", Email: "slow@f21.it", PasswordHash: string(slow), Roles: map[string]string{p1: "agent"}}}, entriesOf(t)...))
	require.NoError(t, err)
	users, err := auth.ParseUsers(doc)
	require.NoError(t, err)
	f, a := newAuthFixture(t, auth.Config{Users: users, Limits: auth.Limits{Concurrency: 1, Wait: -1}})
	held := make(chan int)
	go func() {
		res, err := from("127.0.3.1").Get(f.srv.URL + segPath(p1)) // no credentials: no check
		if err == nil {
			res.Body.Close()
		}
		hr, _ := http.NewRequest("GET", f.srv.URL+segPath(p1), nil)
		hr.SetBasicAuth("slow@f21.it", "wrong")
		res, err = from("127.0.3.1").Do(hr)
		if err != nil {
			held <- -1
			return
		}
		res.Body.Close()
		held <- res.StatusCode
	}()
	require.Eventually(t, func() bool { return a.Stats().PasswordChecks == 1 }, 10*time.Second, time.Millisecond)
	r := f.doWith(from("127.0.3.2"), req{method: "GET", path: segPath(p1), user: agent})
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	assert.Equal(t, "Service unavailable.", r.json["msg"])
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assertNoLeak(t, r)
	assert.Equal(t, http.StatusUnauthorized, <-held)
	assert.EqualValues(t, 1, a.Stats().Busy)
	// The busy answer was no failure: the slot is free again and the
	// same client signs in.
	assert.Equal(t, http.StatusOK, f.doWith(from("127.0.3.2"), req{method: "GET", path: segPath(p1), user: agent}).status)
}

// entriesOf is the fixture's users file as entries.
func entriesOf(t *testing.T) []auth.Entry {
	var es []auth.Entry
	require.NoError(t, json.Unmarshal(usersFile(t), &es))
	return es
}

// TestStrictTokensAPI: through the API, tokens with a wrong iss or aud,
// a future iat or a crit header are 401; a token without exp is refused
// by default and accepted with AllowNoExp.
func TestStrictTokensAPI(t *testing.T) {
	f, _ := newAuthFixture(t, auth.Config{Issuer: "https://tiledesk.example", Audience: []string{"segmatch"}, Leeway: 30 * time.Second})
	get := segPath(p1)
	now := time.Now()
	claims := func(kv ...any) jwt.MapClaims {
		m := jwt.MapClaims{"sub": "u-agent", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "iss": "https://tiledesk.example", "aud": "segmatch"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	status := func(f *fixture, tok string) int {
		t.Helper()
		r := f.do(req{method: "GET", path: get, authz: "JWT " + tok})
		if r.status != http.StatusOK {
			assert.Equal(t, "Unauthorized", r.json["msg"])
			assertNoLeak(t, r)
		}
		return r.status
	}
	sign := func(c jwt.MapClaims) string { return token(t, jwt.SigningMethodHS256, jwtSecret, c) }
	crit := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
	crit.Header["crit"] = []string{"http://example.com/ext"}
	critTok, err := crit.SignedString(jwtSecret)
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, status(f, sign(claims())))
	for name, tok := range map[string]string{
		"wrong iss":  sign(claims("iss", "https://evil.example")),
		"no iss":     sign(claims("iss", nil)),
		"wrong aud":  sign(claims("aud", "another-service")),
		"no aud":     sign(claims("aud", nil)),
		"future iat": sign(claims("iat", now.Add(5*time.Minute).Unix())),
		"crit":       critTok,
		"no exp":     sign(claims("exp", nil)),
	} {
		assert.Equal(t, http.StatusUnauthorized, status(f, tok), name)
	}

	// Tiledesk's own token shape: no exp, sent as "JWT <token>".
	tiledesk := sign(jwt.MapClaims{"_id": "u-agent", "sub": "user", "iat": now.Unix()})
	assert.Equal(t, http.StatusUnauthorized, status(f, tiledesk), "exp required by default")
	g, _ := newAuthFixture(t, auth.Config{AllowNoExp: true})
	assert.Equal(t, http.StatusOK, status(g, tiledesk), "accepted with the opt-in")
	assert.Equal(t, http.StatusUnauthorized, status(g, sign(jwt.MapClaims{"_id": "u-agent", "iat": now.Add(time.Hour).Unix()})), "iat still checked")

	// A short HS256 secret is refused at construction.
	_, err = auth.New(auth.Config{JWTSecret: []byte("short")})
	assert.ErrorIs(t, err, auth.ErrWeakSecret)
}
