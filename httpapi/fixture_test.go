package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/memory"
)

const (
	p1       = "5b55e806c93dde00143163dd"
	p2       = "5b55e806c93dde00143163ee"
	password = "123456"
)

var jwtSecret = []byte("test-secret-at-least-32-bytes-long!!")

// Callers of the fixture: email -> (id, type, roles).
var testUsers = []auth.Entry{
	{ID: "u-agent", Email: "andrea.leo@f21.it", Type: "user", Roles: map[string]string{p1: "agent"}},
	{ID: "u-owner", Email: "owner@f21.it", Type: "user", Roles: map[string]string{p1: "owner", p2: "agent"}},
	{ID: "u-user", Email: "user@f21.it", Type: "user", Roles: map[string]string{p1: "user"}},
	{ID: "u-bot", Email: "bot@f21.it", Type: "bot", Roles: map[string]string{p1: "guest"}},
	{ID: "u-outsider", Email: "out@f21.it", Type: "user", Roles: map[string]string{p2: "admin"}},
}

var (
	usersOnce sync.Once
	usersData []byte
)

// usersFile returns the fixture's users file content (hashed once, at
// bcrypt's minimum cost to keep tests fast).
func usersFile(t testing.TB) []byte {
	usersOnce.Do(func() {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		entries := make([]auth.Entry, len(testUsers))
		for i, e := range testUsers {
			e.PasswordHash = string(hash)
			entries[i] = e
		}
		usersData, _ = json.Marshal(entries)
	})
	return usersData
}

// fixture is the real handler on a real store, served on loopback.
type fixture struct {
	t    *testing.T
	st   store.Store
	api  *httpapi.API
	srv  *httptest.Server
	logs *syncbuf.Buffer
}

// storeKinds opens each real store implementation.
var storeKinds = map[string]func(t *testing.T) store.Store{
	"memory": func(t *testing.T) store.Store { return memory.New() },
	"bolt": func(t *testing.T) store.Store {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "segmatch.db"))
		require.NoError(t, err)
		return st
	},
}

// eachStore runs fn against a fixture on each store implementation.
func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for name, open := range storeKinds {
		t.Run(name, func(t *testing.T) { fn(t, newFixture(t, open(t), "/v3")) })
	}
}

func newFixture(t *testing.T, st store.Store, prefix string) *fixture {
	users, err := auth.ParseUsers(usersFile(t))
	require.NoError(t, err)
	a := auth.NewAuthenticator(auth.Config{Users: users, JWTSecret: jwtSecret})
	logs := &syncbuf.Buffer{}
	api := httpapi.New(httpapi.Config{Prefix: prefix, Store: st, Auth: a,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		st.Close()
	})
	return &fixture{t: t, st: st, api: api, srv: srv, logs: logs}
}

// req is one request to the fixture.
type req struct {
	method, path string
	body         string // sent as application/json unless ctype is set
	ctype        string
	user         string // Basic auth email (password is the fixture's); "" none
	pass         string // overrides the password
	authz        string // a raw Authorization header, instead of user
	header       map[string]string
}

type resp struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

func (f *fixture) do(r req) resp {
	f.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, f.srv.URL+r.path, body)
	require.NoError(f.t, err)
	switch {
	case r.ctype != "":
		hr.Header.Set("Content-Type", r.ctype)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
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
	res, err := f.srv.Client().Do(hr)
	require.NoError(f.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(f.t, err)
	out := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.json)
	return out
}

// as issues a request as the agent of p1 (the seed's curl user).
func (f *fixture) as(user, method, path, body string) resp {
	f.t.Helper()
	return f.do(req{method: method, path: path, body: body, user: user})
}

const agent = "andrea.leo@f21.it"

func segPath(project string, rest ...string) string {
	p := "/v3/" + project + "/segments"
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// create makes a segment in p1 as the agent and returns its id.
func (f *fixture) create(body string) string {
	f.t.Helper()
	r := f.as(agent, "POST", segPath(p1), body)
	require.Equal(f.t, http.StatusOK, r.status, r.raw)
	return r.json["_id"].(string)
}

// token signs claims with method and key.
func token(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func validClaims(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
}
