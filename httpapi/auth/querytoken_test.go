package auth_test

import (
	"crypto/tls"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// TestQueryToken: ?secret_token=<jwt> (Tiledesk's passport reads it
// after the Authorization header) is taken only when Config.QueryToken
// is on and the request came protected: over TLS, from loopback, or
// via a trusted proxy that says X-Forwarded-Proto: https. Anything else
// is an ErrQueryToken (401), whose text never holds the token.
func TestQueryToken(t *testing.T) {
	us, err := auth.ParseUsers([]byte(usersDoc))
	require.NoError(t, err)
	proxies, err := auth.ParseProxies("10.0.0.0/8")
	require.NoError(t, err)
	cfg := auth.Config{Users: us, JWTSecret: secret, TrustedProxies: proxies}
	off := auth.NewAuthenticator(cfg)
	cfg.QueryToken = true
	on := auth.NewAuthenticator(cfg)

	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
	require.NoError(t, err)
	type want int
	const (
		ok want = iota
		refused
		unauthenticated // ErrUnauthenticated, not an ErrQueryToken
	)
	cases := []struct {
		name   string
		a      *auth.Authenticator
		query  string
		remote string
		tls    bool
		header map[string]string
		want   want
	}{
		{"loopback v4", on, "secret_token=" + tok, "127.0.0.1:5000", false, nil, ok},
		{"loopback v6", on, "secret_token=" + tok, "[::1]:5000", false, nil, ok},
		{"TLS from anywhere", on, "secret_token=" + tok, "203.0.113.9:5000", true, nil, ok},
		{"trusted proxy that terminated TLS", on, "secret_token=" + tok, "10.1.2.3:5000", false, map[string]string{"X-Forwarded-Proto": "https"}, ok},
		{"Tiledesk's stored form, JWT <token>", on, "secret_token=" + url.QueryEscape("JWT "+tok), "127.0.0.1:1", false, nil, ok},
		{"Bearer <token>", on, "secret_token=Bearer+" + tok, "127.0.0.1:1", false, nil, ok},
		{"with other parameters", on, "limit=10&secret_token=" + tok + "&page=0", "127.0.0.1:1", false, nil, ok},

		{"off by default", off, "secret_token=" + tok, "127.0.0.1:5000", false, nil, refused},
		{"plain HTTP from a remote peer", on, "secret_token=" + tok, "203.0.113.9:5000", false, nil, refused},
		{"a remote peer claiming https itself", on, "secret_token=" + tok, "203.0.113.9:5000", false, map[string]string{"X-Forwarded-Proto": "https"}, refused},
		{"trusted proxy over plain HTTP", on, "secret_token=" + tok, "10.1.2.3:5000", false, map[string]string{"X-Forwarded-Proto": "http"}, refused},
		{"trusted proxy saying nothing", on, "secret_token=" + tok, "10.1.2.3:5000", false, nil, refused},
		{"repeated", on, "secret_token=" + tok + "&secret_token=" + tok, "127.0.0.1:1", false, nil, refused},
		{"too long", on, "secret_token=" + strings.Repeat("a", auth.MaxQueryTokenBytes+1), "127.0.0.1:1", false, nil, refused},
		{"an unreadable peer", on, "secret_token=" + tok, "pipe", false, nil, refused},

		{"a bad token", on, "secret_token=" + tok + "x", "127.0.0.1:1", false, nil, unauthenticated},
		{"empty", on, "secret_token=", "127.0.0.1:1", false, nil, unauthenticated},
		{"no parameter", on, "token=" + tok, "127.0.0.1:1", false, nil, unauthenticated},
		{"the header wins: a bad Basic", on, "secret_token=" + tok, "127.0.0.1:1", false, map[string]string{"Authorization": "JWT x.y.z"}, unauthenticated},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/p/segments?"+c.query, nil)
		r.RemoteAddr = c.remote
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		} else {
			r.TLS = nil
		}
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		who, err := c.a.Authenticate(r)
		switch c.want {
		case ok:
			if assert.NoError(t, err, c.name) {
				assert.Equal(t, "u1", who.ID, c.name)
			}
		case refused:
			assert.ErrorIs(t, err, auth.ErrQueryToken, c.name)
			assert.ErrorIs(t, err, auth.ErrUnauthenticated, c.name)
			if err != nil {
				assert.NotContains(t, err.Error(), tok[:20], c.name)
			}
		case unauthenticated:
			assert.ErrorIs(t, err, auth.ErrUnauthenticated, c.name)
			assert.NotErrorIs(t, err, auth.ErrQueryToken, c.name)
		}
	}
}
