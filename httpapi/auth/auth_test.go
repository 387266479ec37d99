package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

const usersDoc = `[{"id":"u1","email":"a@b.it","password_hash":"","type":"user","roles":{"p":"agent","q":"guest"}}]`

func TestRoles(t *testing.T) {
	us, err := auth.ParseUsers([]byte(usersDoc))
	require.NoError(t, err)
	assert.Equal(t, 1, us.Len())
	p := &auth.Principal{ID: "u1", Type: auth.TypeUser, Roles: map[string]auth.Role{"p": auth.Agent, "q": auth.Guest}}
	assert.NoError(t, p.Allow("p", auth.Agent))
	assert.ErrorIs(t, p.Allow("p", auth.Supervisor), auth.ErrRole)
	assert.ErrorIs(t, p.Allow("q", auth.Agent), auth.ErrRole)
	assert.ErrorIs(t, p.Allow("r", auth.Guest), auth.ErrNotMember)
	p.Type = auth.TypeSubscription
	assert.NoError(t, p.Allow("q", auth.Owner))
	assert.ErrorIs(t, p.Allow("r", auth.Guest), auth.ErrNotMember)
	for _, r := range []string{"guest", "user", "agent", "supervisor", "admin", "OWNER"} {
		_, err := auth.ParseRole(r)
		assert.NoError(t, err)
	}
	assert.True(t, auth.Guest < auth.User && auth.User < auth.Agent && auth.Agent < auth.Supervisor && auth.Supervisor < auth.Admin && auth.Admin < auth.Owner)
}

func TestParseUsersRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":     `{`,
		"unknown key":  `[{"id":"u","email":"e","pasword_hash":"x","roles":{}}]`,
		"no id":        `[{"email":"e","roles":{}}]`,
		"dup email":    `[{"id":"a","email":"E","roles":{}},{"id":"b","email":"e","roles":{}}]`,
		"dup id":       `[{"id":"a","email":"x","roles":{}},{"id":"a","email":"y","roles":{}}]`,
		"bad role":     `[{"id":"a","email":"x","roles":{"p":"god"}}]`,
		"bad type":     `[{"id":"a","email":"x","type":"robot","roles":{}}]`,
		"not an array": `{"id":"a"}`,
		"bad hash":     `[{"id":"a","email":"x","password_hash":"plaintext","roles":{}}]`,
	} {
		_, err := auth.ParseUsers([]byte(doc))
		assert.Error(t, err, name)
	}
}

func TestWriteEntriesAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	require.NoError(t, auth.WriteEntries(path, []auth.Entry{{ID: "b", Email: "b@x"}, {ID: "a", Email: "a@x", Roles: map[string]string{"p": "owner"}}}))
	es, err := auth.ReadEntries(path)
	require.NoError(t, err)
	assert.Equal(t, "a", es[0].ID)
	// An invalid set is refused and the file is left as it was.
	require.Error(t, auth.WriteEntries(path, []auth.Entry{{ID: "a", Email: "x"}, {ID: "a", Email: "y"}}))
	es2, err := auth.ReadEntries(path)
	require.NoError(t, err)
	assert.Equal(t, es, es2)
	none, err := auth.ReadEntries(filepath.Join(t.TempDir(), "missing.json"))
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestRS256(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	us, err := auth.ParseUsers([]byte(usersDoc))
	require.NoError(t, err)
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	a := auth.NewAuthenticator(auth.Config{Users: us, JWTPublic: &key.PublicKey, Now: func() time.Time { return now }})
	sign := func(m jwt.SigningMethod, k any, exp time.Time) string {
		s, err := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "u1", "exp": exp.Unix()}).SignedString(k)
		require.NoError(t, err)
		return s
	}
	try := func(tok string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "JWT "+tok)
		_, err := a.Authenticate(r)
		return err
	}
	assert.NoError(t, try(sign(jwt.SigningMethodRS256, key, now.Add(time.Hour))))
	assert.ErrorIs(t, try(sign(jwt.SigningMethodRS256, key, now.Add(-time.Hour))), auth.ErrUnauthenticated)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	assert.ErrorIs(t, try(sign(jwt.SigningMethodRS256, other, now.Add(time.Hour))), auth.ErrUnauthenticated)
	// Algorithm confusion: HS256 keyed with the public key's bytes.
	pubBytes := key.PublicKey.N.Bytes()
	assert.ErrorIs(t, try(sign(jwt.SigningMethodHS256, pubBytes, now.Add(time.Hour))), auth.ErrUnauthenticated)
	// No password hash: Basic never passes.
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("a@b.it", "")
	_, err = a.Authenticate(r)
	assert.ErrorIs(t, err, auth.ErrUnauthenticated)
}
