package auth

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestClientAddrForwardedForms: the X-Forwarded-For hops proxies write
// with a port or in brackets name the client; a trusted proxy that names
// no usable client is "unknown client via" it, not itself.
func TestClientAddrForwardedForms(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, ::1")
	require.NoError(t, err)
	for _, c := range []struct {
		remote string
		xff    []string // one header line each; nil: no header
		want   string
	}{
		{"10.1.2.3:5", []string{"203.0.113.7:51000"}, "203.0.113.7"},
		{"10.1.2.3:5", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"10.1.2.3:5", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"10.1.2.3:5", []string{"[::ffff:203.0.113.7]:443"}, "203.0.113.7"},
		{"10.1.2.3:5", []string{" 6.6.6.6:1 , 203.0.113.7:9, 10.9.9.9:80 "}, "203.0.113.7"},
		// Several header lines are one list, in order: the last line's
		// rightmost untrusted hop is the client.
		{"10.1.2.3:5", []string{"6.6.6.6", "203.0.113.7, 10.9.9.9"}, "203.0.113.7"},
		{"10.1.2.3:5", []string{"6.6.6.6, 198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		// No usable hop: unknown, via the last trusted proxy.
		{"10.1.2.3:5", nil, "unknown client via 10.1.2.3"},
		{"10.1.2.3:5", []string{""}, "unknown client via 10.1.2.3"},
		{"10.1.2.3:5", []string{"203.0.113.9, junk"}, "unknown client via 10.1.2.3"},
		{"10.1.2.3:5", []string{"203.0.113.9, unknown, 10.9.9.9"}, "unknown client via 10.9.9.9"},
		{"10.1.2.3:5", []string{"6.6.6.6", ""}, "unknown client via 10.1.2.3"}, // an empty hop hides nothing left of it
		{"10.1.2.3:5", []string{"[2001:db8::1"}, "unknown client via 10.1.2.3"},
		{"[::1]:5", nil, "unknown client via ::1"},
		// Only trusted hops: the request started at the leftmost.
		{"10.1.2.3:5", []string{"10.9.9.9, 10.8.8.8"}, "10.9.9.9"},
		// Not a trusted peer: the header is ignored, whatever its form.
		{"198.51.100.1:5", []string{"203.0.113.7:51000"}, "198.51.100.1"},
		{"198.51.100.1:5", nil, "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		assert.Equal(t, c.want, clientOf(r, proxies).String(), "%+v", c)
	}
	// The key of an unknown client is not the proxy's own key.
	assert.NotEqual(t, client{addr: netip.MustParseAddr("10.1.2.3")}.key(), client{addr: netip.MustParseAddr("10.1.2.3"), unknown: true}.key())
	assert.Equal(t, client{addr: netip.MustParseAddr("2001:db8:1:2::"), unknown: true}, client{addr: netip.MustParseAddr("2001:db8:1:2::9"), unknown: true}.key())
}

// TestBasicForwardedClientsApart is the reviewer's reproduction: behind a
// trusted proxy writing ports or brackets in X-Forwarded-For, one
// attacker's failures limited everyone behind the proxy (they all were
// the proxy). Each forwarded client now has its own limit; clients the
// proxy names not share one limit of their own, counted in Stats.
func TestBasicForwardedClientsApart(t *testing.T) {
	calls, _ := countCompare(t, 0)
	a := NewAuthenticator(Config{
		Users:          testUsers(t),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		Limits:         Limits{FailuresPerAddress: 3, FailuresPerEmail: -1, Tarpit: -1},
	})
	req := func(email, pw string, xff ...string) error {
		r := basicReq("10.0.0.1:4444", email, pw)
		for _, h := range xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		_, err := a.Authenticate(r)
		return err
	}
	for range 3 {
		require.ErrorIs(t, req("a@b.it", "wrong", "203.0.113.7:51000"), ErrUnauthenticated)
	}
	limitErr(t, req("a@b.it", "wrong", "203.0.113.7:1"), ErrRateLimited) // the attacker is limited, whatever its port
	limitErr(t, req("a@b.it", "wrong", "203.0.113.7"), ErrRateLimited)
	// Everyone else behind the proxy is not.
	assert.ErrorIs(t, req("c@d.it", "wrong", "198.51.100.9:40000"), ErrUnauthenticated)
	assert.ErrorIs(t, req("c@d.it", "wrong", "[2001:db8::1]"), ErrUnauthenticated)
	assert.ErrorIs(t, req("c@d.it", "wrong", "[2001:db8::2]:443"), ErrUnauthenticated)
	assert.ErrorIs(t, req("c@d.it", "wrong", "6.6.6.6", "198.51.100.10, 10.0.0.9"), ErrUnauthenticated)
	assert.NoError(t, req("a@b.it", testPassword, "198.51.100.11:3"))
	assert.Zero(t, a.Stats().UnknownClients)

	// Requests naming no usable client share the unknown clients' limit,
	// which is not the proxy's own address's.
	for _, xff := range [][]string{nil, {"junk"}, {"203.0.113.8, "}} {
		require.ErrorIs(t, req("a@b.it", "wrong", xff...), ErrUnauthenticated)
	}
	limitErr(t, req("c@d.it", testPassword), ErrRateLimited)
	assert.EqualValues(t, 4, a.Stats().UnknownClients)
	assert.NoError(t, req("c@d.it", testPassword, "10.0.0.1"), "the proxy itself (every hop trusted) has its own limit")
	assert.NoError(t, req("c@d.it", testPassword, "203.0.113.9:1"))
	// bcrypt: the attacker's 3, the 4 victims', a@b.it's, the 3 unknown
	// clients' and the proxy's (203.0.113.9 was served the proof).
	assert.EqualValues(t, 3+4+1+3+1, calls.Load(), "no 429 cost a bcrypt")
}

// renewUsers is the one user v@x.it with the password of hash h.
func renewUsers(t *testing.T, h []byte) *Users {
	t.Helper()
	b, err := json.Marshal([]Entry{{ID: "v1", Email: "v@x.it", PasswordHash: string(h), Roles: map[string]string{"p": "agent"}}})
	require.NoError(t, err)
	us, err := ParseUsers(b)
	require.NoError(t, err)
	return us
}

// TestBasicCacheRenewedOnUse is the reviewer's reproduction: a client
// signed in and active was refused once its proof expired, the per-email
// bucket being kept empty by an attacker elsewhere (5 failures a minute
// from anywhere). Its proof now lasts while it is used, up to
// CacheMaxAge; then bcrypt runs again, charged to its address only, as
// it signed in from there lately.
func TestBasicCacheRenewedOnUse(t *testing.T) {
	good, err := bcrypt.GenerateFromPassword([]byte("good"), bcrypt.MinCost)
	require.NoError(t, err)
	c := newClock()
	calls, _ := countCompare(t, 0)
	counted := compareHash
	compareHash = func(h, p []byte) error { // the attacker's some 600 wrong guesses: no need to pay bcrypt (under -race) for them
		if string(p) == "bad" {
			calls.Add(1)
			return bcrypt.ErrMismatchedHashAndPassword
		}
		return counted(h, p)
	}
	a := NewAuthenticator(Config{Users: renewUsers(t, good), Now: c.now, Limits: Limits{Tarpit: -1}}) // the defaults
	try := func(remote, pw string) error {
		_, err := a.Authenticate(basicReq(remote, "v@x.it", pw))
		return err
	}
	attack := func() {
		for range DefaultFailuresPerEmail {
			_ = try(fmt.Sprintf("198.51.100.%d:1", c.now().Second()%200), "bad")
		}
		limitErr(t, try("198.51.100.250:1", "bad"), ErrRateLimited) // the email's bucket is empty
	}
	require.NoError(t, try("192.0.2.1:1", "good"))
	checks := calls.Load()
	require.EqualValues(t, 1, checks)
	// Active every 10 s for 2 hours while the attacker keeps the email's
	// bucket empty: never refused, bcrypt once per CacheMaxAge.
	var victim int64
	for s := 10 * time.Second; s <= 2*time.Hour; s += 10 * time.Second {
		c.add(10 * time.Second)
		attack()
		before := calls.Load()
		require.NoError(t, try("192.0.2.1:1", "good"), "refused after %v", s)
		victim += calls.Load() - before
	}
	assert.EqualValues(t, 2*time.Hour/DefaultCacheMaxAge, victim, "the victim's bcrypt: once per CacheMaxAge")

	// Idle beyond CacheTTL: the proof is gone. From another address the
	// email's limit applies...
	c.add(DefaultCacheTTL + time.Second)
	attack()
	limitErr(t, try("192.0.2.2:1", "good"), ErrRateLimited)
	// ... but from the address where it signed in lately, bcrypt runs,
	// charged to the address only: the emptied email bucket does not
	// refuse it.
	before := calls.Load()
	require.NoError(t, try("192.0.2.1:2", "good"))
	assert.Equal(t, before+1, calls.Load())
	// Idle beyond CacheMaxAge: no longer known, limited like anyone.
	c.add(DefaultCacheMaxAge + time.Second)
	attack()
	limitErr(t, try("192.0.2.1:1", "good"), ErrRateLimited)

	// Known at an address, a wrong password is still a failure of the
	// address, and the address's limit still holds.
	c.add(time.Hour)
	require.NoError(t, try("192.0.2.1:1", "good"))
	c.add(DefaultCacheTTL)
	attack()
	for range DefaultFailuresPerAddress {
		require.ErrorIs(t, try("192.0.2.1:1", "bad"), ErrUnauthenticated)
	}
	limitErr(t, try("192.0.2.1:1", "good"), ErrRateLimited)

	// A reload keeping the password (its hash) keeps the address known;
	// one that changes it ends that (a reload forgets every proof).
	c.add(time.Hour)
	require.NoError(t, try("192.0.2.1:1", "good"))
	a.SetUsers(renewUsers(t, good))
	attack()
	require.NoError(t, try("192.0.2.1:1", "good"))
	changed, err := bcrypt.GenerateFromPassword([]byte("new"), bcrypt.MinCost)
	require.NoError(t, err)
	a.SetUsers(renewUsers(t, changed))
	attack()
	limitErr(t, try("192.0.2.1:1", "new"), ErrRateLimited)
}

// TestBasicCacheMaxAge: a proof used without pause still ends CacheMaxAge
// after bcrypt made it; a negative CacheMaxAge is the old behaviour (no
// renewal, every check charged to the email).
func TestBasicCacheMaxAge(t *testing.T) {
	good, err := bcrypt.GenerateFromPassword([]byte("good"), bcrypt.MinCost)
	require.NoError(t, err)
	c := newClock()
	calls, _ := countCompare(t, 0)
	a := NewAuthenticator(Config{Users: renewUsers(t, good), Now: c.now, Limits: Limits{CacheTTL: time.Minute, CacheMaxAge: 5 * time.Minute}})
	try := func(a *Authenticator, remote, pw string) error {
		_, err := a.Authenticate(basicReq(remote, "v@x.it", pw))
		return err
	}
	require.NoError(t, try(a, "192.0.2.1:1", "good"))
	for range 9 { // 4.5 min of use, 30 s apart
		c.add(30 * time.Second)
		require.NoError(t, try(a, "192.0.2.1:1", "good"))
	}
	assert.EqualValues(t, 1, calls.Load())
	c.add(30 * time.Second) // 5 min after bcrypt
	require.NoError(t, try(a, "192.0.2.1:1", "good"))
	assert.EqualValues(t, 2, calls.Load())
	a.mu.Lock()
	assert.Len(t, a.proven.known, 1)
	a.mu.Unlock()

	// Off.
	b := NewAuthenticator(Config{Users: renewUsers(t, good), Now: c.now, Limits: Limits{CacheMaxAge: -1, Tarpit: -1}})
	require.NoError(t, try(b, "192.0.2.1:1", "good"))
	var refused bool
	for s := 0; s < 130 && !refused; s += 10 {
		for range DefaultFailuresPerEmail {
			_ = try(b, "198.51.100.1:1", "bad")
		}
		refused = try(b, "192.0.2.1:1", "good") != nil
		c.add(10 * time.Second)
	}
	assert.True(t, refused, "without renewal the proof ends CacheTTL after bcrypt and the email's limit applies")
	assert.Empty(t, b.proven.known)
}

// TestBasicKnownBounded: the addresses where emails signed in are
// bounded by Tracked.
func TestBasicKnownBounded(t *testing.T) {
	a := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{Tracked: 16, FailuresPerAddress: -1, FailuresPerEmail: -1}})
	for i := range 100 {
		_, err := a.Authenticate(basicReq(fmt.Sprintf("192.0.2.%d:1", i), "a@b.it", testPassword))
		require.NoError(t, err)
		a.mu.Lock()
		n := len(a.proven.known)
		a.mu.Unlock()
		require.LessOrEqual(t, n, 16)
	}
}
