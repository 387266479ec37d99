package auth_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

var secret = []byte("unit-test-secret-of-at-least-32-bytes")

func TestWeakSecretRefused(t *testing.T) {
	for _, n := range []int{1, 16, 31} {
		_, err := auth.New(auth.Config{JWTSecret: []byte(strings.Repeat("k", n))})
		require.ErrorIs(t, err, auth.ErrWeakSecret, n)
		assert.Contains(t, err.Error(), "32")
	}
	_, err := auth.New(auth.Config{JWTSecret: []byte(strings.Repeat("k", 32))})
	assert.NoError(t, err)
	_, err = auth.New(auth.Config{}) // no secret: HS256 is off, not weak
	assert.NoError(t, err)
	assert.Panics(t, func() { auth.NewAuthenticator(auth.Config{JWTSecret: []byte("x")}) })
}

// TestStrictTokens checks every claim and header rule of JWTs.
func TestStrictTokens(t *testing.T) {
	us, err := auth.ParseUsers([]byte(usersDoc))
	require.NoError(t, err)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	strict, err := auth.New(auth.Config{Users: us, JWTSecret: secret, Now: clock, Leeway: 30 * time.Second,
		Issuer: "https://tiledesk.example", Audience: []string{"segmatch", "other"}})
	require.NoError(t, err)
	plain, err := auth.New(auth.Config{Users: us, JWTSecret: secret, Now: clock, Leeway: 30 * time.Second})
	require.NoError(t, err)
	noExp, err := auth.New(auth.Config{Users: us, JWTSecret: secret, Now: clock, Leeway: 30 * time.Second, AllowNoExp: true})
	require.NoError(t, err)

	sign := func(claims jwt.MapClaims, header map[string]any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(secret)
		require.NoError(t, err)
		return s
	}
	claims := func(kv ...any) jwt.MapClaims {
		m := jwt.MapClaims{"sub": "u1", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
			"iss": "https://tiledesk.example", "aud": "segmatch"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	check := func(a *auth.Authenticator, scheme, tok string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", scheme+" "+tok)
		_, err := a.Authenticate(r)
		return err
	}
	accept := func(a *auth.Authenticator, tok, why string) {
		t.Helper()
		for _, scheme := range []string{"JWT", "Bearer", "jwt", "bearer"} {
			assert.NoError(t, check(a, scheme, tok), "%s (%s)", why, scheme)
		}
	}
	refuse := func(a *auth.Authenticator, tok, why string) {
		t.Helper()
		for _, scheme := range []string{"JWT", "Bearer"} {
			assert.ErrorIs(t, check(a, scheme, tok), auth.ErrUnauthenticated, "%s (%s)", why, scheme)
		}
	}

	accept(strict, sign(claims(), nil), "all claims right")
	accept(strict, sign(claims("aud", []string{"x", "other"}), nil), "one of the audiences")
	accept(strict, sign(claims("iat", now.Add(20*time.Second).Unix()), nil), "iat within the leeway")
	refuse(strict, sign(claims("iss", "https://evil.example"), nil), "wrong iss")
	refuse(strict, sign(claims("iss", nil), nil), "no iss when one is configured")
	refuse(strict, sign(claims("aud", "someone-else"), nil), "wrong aud")
	refuse(strict, sign(claims("aud", nil), nil), "no aud when one is configured")
	accept(plain, sign(claims("iss", "anyone", "aud", "anything"), nil), "iss and aud unchecked when not configured")

	for _, a := range []*auth.Authenticator{strict, plain, noExp} {
		refuse(a, sign(claims("iat", now.Add(2*time.Minute).Unix()), nil), "iat in the future")
		refuse(a, sign(claims("iat", "yesterday"), nil), "iat not a number")
		refuse(a, sign(claims("exp", now.Add(-time.Minute).Unix()), nil), "expired")
		refuse(a, sign(claims("nbf", now.Add(time.Hour).Unix()), nil), "not yet valid")
		refuse(a, sign(claims(), map[string]any{"crit": []string{"exp"}}), "crit header")
		refuse(a, sign(claims(), map[string]any{"crit": []string{}}), "empty crit header")
		refuse(a, sign(claims(), map[string]any{"crit": "b64", "b64": false}), "crit b64")
		none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
		require.NoError(t, err)
		refuse(a, none, "alg none")
	}

	// exp: required unless the operator opts in (Tiledesk's own tokens
	// carry none).
	tiledesk := sign(jwt.MapClaims{"_id": "u1", "sub": "user", "iat": now.Unix()}, nil)
	refuse(plain, tiledesk, "no exp by default")
	refuse(strict, tiledesk, "no exp by default")
	accept(noExp, tiledesk, "no exp with AllowNoExp")
	refuse(noExp, sign(claims("exp", now.Add(-time.Minute).Unix()), nil), "an exp present is still checked")
}
