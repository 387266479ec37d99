package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

const testPassword = "s3cret-pw"

// testUsers is a users file of u1 <a@b.it> and u2 <c@d.it>, both with
// testPassword at bcrypt's minimum cost.
func testUsers(t *testing.T) *Users {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	require.NoError(t, err)
	doc, err := json.Marshal([]Entry{
		{ID: "u1", Email: "a@b.it", PasswordHash: string(h), Roles: map[string]string{"p": "agent"}},
		{ID: "u2", Email: "c@d.it", PasswordHash: string(h), Roles: map[string]string{"p": "agent"}},
	})
	require.NoError(t, err)
	us, err := ParseUsers(doc)
	require.NoError(t, err)
	return us
}

// clock is a settable time for the limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// basicReq is a Basic request from remote (host:port).
func basicReq(remote, email, password string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	r.SetBasicAuth(email, password)
	return r
}

func limitErr(t *testing.T, err error, kind error) *LimitError {
	t.Helper()
	require.ErrorIs(t, err, kind)
	var le *LimitError
	require.True(t, errors.As(err, &le), "%v", err)
	assert.Positive(t, le.RetryAfter())
	return le
}

func TestFailuresBucket(t *testing.T) {
	f := newFailures[string](3, time.Minute, 100)
	now := newClock().now()
	for range 3 {
		_, ok := f.take("k", now)
		require.True(t, ok)
	}
	wait, ok := f.take("k", now)
	require.False(t, ok)
	assert.InDelta(t, 20*time.Second, wait, float64(time.Millisecond), "one failure comes back every window/limit")
	// Half the wait later, still refused; after it, one more.
	_, ok = f.take("k", now.Add(10*time.Second))
	assert.False(t, ok)
	_, ok = f.take("k", now.Add(20*time.Second))
	assert.True(t, ok)
	_, ok = f.take("k", now.Add(20*time.Second))
	assert.False(t, ok)
	// A refund of a full bucket forgets the key: honest traffic leaves nothing.
	_, ok = f.take("h", now)
	require.True(t, ok)
	assert.Equal(t, 2, f.len())
	f.refund("h", now)
	assert.Equal(t, 1, f.len())
	// Off.
	off := newFailures[string](-1, time.Minute, 100)
	for range 100 {
		_, ok := off.take("k", now)
		require.True(t, ok)
	}
	assert.Equal(t, 0, off.len())
}

func TestFailuresBounded(t *testing.T) {
	f := newFailures[int](2, time.Minute, 50)
	now := newClock().now()
	for i := range 10000 {
		f.take(i, now)
		require.LessOrEqual(t, f.len(), 50)
	}
	assert.Len(t, f.byKey, 50)
	// The most recent keys are the ones kept.
	f.take(9999, now)
	_, ok := f.take(9999, now)
	assert.False(t, ok)
}

func TestGate(t *testing.T) {
	g := newGate(Limits{Concurrency: 1, Wait: 20 * time.Millisecond, Waiting: 1})
	require.NoError(t, g.enter(context.Background()))
	start := time.Now()
	err := g.enter(context.Background())
	limitErr(t, err, ErrBusy)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "waited the bounded wait")
	// One waiter at most: a second one is refused at once.
	g2 := newGate(Limits{Concurrency: 1, Wait: time.Hour, Waiting: 1})
	require.NoError(t, g2.enter(context.Background()))
	waiting := make(chan error)
	go func() { waiting <- g2.enter(context.Background()) }()
	require.Eventually(t, func() bool { return g2.waiting.Load() == 1 }, 5*time.Second, time.Millisecond)
	limitErr(t, g2.enter(context.Background()), ErrBusy)
	g2.leave()
	require.NoError(t, <-waiting, "the waiter got the freed slot")
	g2.leave()
	// A cancelled request stops waiting.
	require.NoError(t, g2.enter(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, g2.enter(ctx), context.Canceled)
	g2.leave()
	// No bound on the waiters: they still wait at most Wait, and leave.
	g3 := newGate(Limits{Concurrency: 1, Wait: 10 * time.Millisecond, Waiting: -1})
	require.NoError(t, g3.enter(context.Background()))
	limitErr(t, g3.enter(context.Background()), ErrBusy)
	assert.Zero(t, g3.waiting.Load())
	// Unbounded.
	u := newGate(Limits{Concurrency: -1})
	for range 100 {
		require.NoError(t, u.enter(context.Background()))
	}
}

// countCompare replaces bcrypt's comparison for a test: it counts the
// calls and the most running at once, each taking hold.
func countCompare(t *testing.T, hold time.Duration) (calls, peak *atomic.Int64) {
	calls, peak = new(atomic.Int64), new(atomic.Int64)
	var running atomic.Int64
	orig := compareHash
	compareHash = func(h, p []byte) error {
		calls.Add(1)
		n := running.Add(1)
		for {
			m := peak.Load()
			if n <= m || peak.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(hold)
		running.Add(-1)
		return orig(h, p)
	}
	t.Cleanup(func() { compareHash = orig })
	return calls, peak
}

func TestBasicConcurrencyBound(t *testing.T) {
	calls, peak := countCompare(t, 5*time.Millisecond)
	a := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{Concurrency: 2, Wait: time.Minute, Waiting: 1000,
		FailuresPerAddress: -1, FailuresPerEmail: -1, CacheTTL: -1}})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			_, err := a.Authenticate(basicReq(fmt.Sprintf("192.0.2.%d:1", i), "a@b.it", "wrong"))
			assert.ErrorIs(t, err, ErrUnauthenticated)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 40, calls.Load())
	assert.LessOrEqual(t, peak.Load(), int64(2), "never more than Concurrency bcrypt at once")
	assert.EqualValues(t, 40, a.Stats().PasswordChecks)

	// Full slots and a short wait: ErrBusy, and nothing counted as a failure.
	countCompare(t, 200*time.Millisecond)
	b := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{Concurrency: 1, Wait: -1, FailuresPerAddress: 1}})
	first := make(chan error)
	go func() { _, err := b.Authenticate(basicReq("192.0.2.1:1", "a@b.it", "wrong")); first <- err }()
	require.Eventually(t, func() bool { return b.Stats().PasswordChecks == 1 }, 5*time.Second, time.Millisecond)
	_, err := b.Authenticate(basicReq("192.0.2.2:1", "c@d.it", testPassword))
	limitErr(t, err, ErrBusy)
	assert.EqualValues(t, 1, b.Stats().Busy)
	require.ErrorIs(t, <-first, ErrUnauthenticated)
	_, err = b.Authenticate(basicReq("192.0.2.2:1", "c@d.it", testPassword))
	assert.NoError(t, err, "the busy answer did not spend the address's one failure")
}

func TestBasicFailureLimits(t *testing.T) {
	c := newClock()
	calls, _ := countCompare(t, 0)
	a := NewAuthenticator(Config{Users: testUsers(t), Now: c.now, Limits: Limits{FailuresPerAddress: 3, FailuresPerEmail: 5, FailureWindow: time.Minute, Tarpit: -1}})

	// Per address: 3 failures, then 429 whatever the email or password,
	// without a bcrypt comparison.
	for i := range 3 {
		_, err := a.Authenticate(basicReq("198.51.100.7:"+fmt.Sprint(1000+i), "a@b.it", "wrong"))
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	n := calls.Load()
	for _, cred := range [][2]string{{"a@b.it", "wrong"}, {"c@d.it", "wrong"}, {"c@d.it", testPassword}, {"ghost@x.it", "x"}} {
		_, err := a.Authenticate(basicReq("198.51.100.7:9999", cred[0], cred[1])) // another port, same address
		le := limitErr(t, err, ErrRateLimited)
		assert.InDelta(t, 20*time.Second, le.Retry, float64(time.Second))
	}
	assert.Equal(t, n, calls.Load(), "a limited check costs no bcrypt")
	assert.EqualValues(t, 4, a.Stats().RateLimited)
	// Another address is not affected.
	_, err := a.Authenticate(basicReq("198.51.100.8:1", "c@d.it", testPassword))
	require.NoError(t, err)
	// A failure comes back after window/limit.
	c.add(20 * time.Second)
	_, err = a.Authenticate(basicReq("198.51.100.7:1", "a@b.it", "wrong"))
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, err = a.Authenticate(basicReq("198.51.100.7:1", "a@b.it", "wrong"))
	limitErr(t, err, ErrRateLimited)

	// Per email, across addresses (a fresh authenticator, same limits).
	a = NewAuthenticator(Config{Users: testUsers(t), Now: c.now, Limits: Limits{FailuresPerAddress: 3, FailuresPerEmail: 5, FailureWindow: time.Minute, Tarpit: -1}})
	for i := range 5 {
		_, err = a.Authenticate(basicReq(fmt.Sprintf("203.0.113.%d:1", i), "A@B.IT", "wrong"))
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	for i := range 5 {
		_, err = a.Authenticate(basicReq(fmt.Sprintf("203.0.113.%d:1", 10+i), "a@b.it", "wrong"))
		limitErr(t, err, ErrRateLimited)
	}
	// ... and an unknown email is limited just like a known one.
	for i := range 5 {
		_, err = a.Authenticate(basicReq(fmt.Sprintf("203.0.113.%d:1", 20+i), "ghost@x.it", "x"))
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	_, err = a.Authenticate(basicReq("203.0.113.30:1", "ghost@x.it", "x"))
	limitErr(t, err, ErrRateLimited)
	// Other emails from those addresses still work.
	_, err = a.Authenticate(basicReq("203.0.113.1:1", "c@d.it", testPassword))
	require.NoError(t, err)

	// IPv6: one /64 is one client.
	for i := range 3 {
		_, err = a.Authenticate(basicReq(fmt.Sprintf("[2001:db8:1:2::%x]:1", i+1), "c@d.it", "wrong"))
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	_, err = a.Authenticate(basicReq("[2001:db8:1:2:ffff::1]:1", "c@d.it", "wrong"))
	limitErr(t, err, ErrRateLimited)
	_, err = a.Authenticate(basicReq("[2001:db8:1:3::1]:1", "c@d.it", "wrong"))
	require.ErrorIs(t, err, ErrUnauthenticated, "another /64")
}

func TestBasicLimitMemoryBounded(t *testing.T) {
	// bcrypt is not what this test is about: a stand-in that always fails.
	orig := compareHash
	compareHash = func([]byte, []byte) error { return bcrypt.ErrMismatchedHashAndPassword }
	t.Cleanup(func() { compareHash = orig })
	a := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{Tracked: 64, FailuresPerAddress: 2, FailuresPerEmail: 2}})
	for i := range 2000 {
		r := basicReq(fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, i), fmt.Sprintf("rotating-%d@x.it", i), "x")
		_, _ = a.Authenticate(r)
	}
	assert.LessOrEqual(t, a.byAddr.len(), 64)
	assert.LessOrEqual(t, a.byEmail.len(), 64)
	assert.EqualValues(t, 2000, a.Stats().PasswordChecks)
}

func TestBasicCache(t *testing.T) {
	c := newClock()
	calls, _ := countCompare(t, 0)
	a := NewAuthenticator(Config{Users: testUsers(t), Now: c.now, Limits: Limits{CacheTTL: time.Minute, FailuresPerAddress: 2, FailureWindow: time.Hour, Tarpit: -1}})
	ok := func(remote, email, pw string) {
		t.Helper()
		p, err := a.Authenticate(basicReq(remote, email, pw))
		require.NoError(t, err)
		assert.Equal(t, "u1", p.ID)
	}
	ok("192.0.2.1:1", "a@b.it", testPassword)
	ok("192.0.2.1:2", "a@b.it", testPassword)
	ok("192.0.2.9:2", "A@b.IT", testPassword) // the email's case does not matter
	assert.EqualValues(t, 1, calls.Load(), "one bcrypt for three requests")
	assert.EqualValues(t, 2, a.Stats().CacheHits)
	// A wrong password is never remembered, nor served from the cache.
	for range 2 {
		_, err := a.Authenticate(basicReq("192.0.2.1:1", "a@b.it", testPassword+"x"))
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	assert.EqualValues(t, 3, calls.Load())
	// The address has no failure left, but the proven password is still
	// served: an honest client is not locked out by an attacker sharing
	// its address.
	ok("192.0.2.1:1", "a@b.it", testPassword)
	assert.EqualValues(t, 3, calls.Load())
	// Past the TTL bcrypt runs again (and here meets the address's limit).
	c.add(time.Minute)
	_, err := a.Authenticate(basicReq("192.0.2.1:1", "a@b.it", testPassword))
	limitErr(t, err, ErrRateLimited)
	ok("192.0.2.2:1", "a@b.it", testPassword)
	assert.EqualValues(t, 4, calls.Load())
	// A reload forgets every proven password.
	ok("192.0.2.2:1", "a@b.it", testPassword)
	assert.EqualValues(t, 4, calls.Load())
	a.SetUsers(testUsers(t))
	ok("192.0.2.2:1", "a@b.it", testPassword)
	assert.EqualValues(t, 5, calls.Load())
	// A user removed by the reload is gone at once, cached or not.
	a.SetUsers(nil)
	_, err = a.Authenticate(basicReq("192.0.2.2:1", "a@b.it", testPassword))
	require.ErrorIs(t, err, ErrUnauthenticated)
	// The cache holds HMACs, not passwords, and is bounded.
	b := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{CacheSize: 1}})
	for _, e := range []string{"a@b.it", "c@d.it", "a@b.it"} {
		_, err := b.Authenticate(basicReq("192.0.2.3:1", e, testPassword))
		require.NoError(t, err)
		assert.Len(t, b.proven.seen, 1)
	}
	// Off.
	d := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{CacheTTL: -1}})
	before := calls.Load()
	for range 3 {
		_, err := d.Authenticate(basicReq("192.0.2.4:1", "a@b.it", testPassword))
		require.NoError(t, err)
	}
	assert.Equal(t, before+3, calls.Load())
}

func TestCacheKeyUnambiguous(t *testing.T) {
	p := newProofs(time.Minute, 0, 10, 0)
	assert.NotEqual(t, p.sum("a\x00b", "c"), p.sum("a", "b\x00c"))
	assert.NotEqual(t, p.sum("ab", "c"), p.sum("a", "bc"))
	q := newProofs(time.Minute, 0, 10, 0)
	assert.NotEqual(t, p.sum("a", "b"), q.sum("a", "b"), "a random key per process")
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 192.0.2.1,::1")
	require.NoError(t, err)
	_, err = ParseProxies("10.0.0.0/8,nope")
	assert.Error(t, err)
	for _, c := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"198.51.100.1:5", "", nil, "198.51.100.1"},
		{"198.51.100.1:5", "203.0.113.9", nil, "198.51.100.1"},     // not trusted: the header is ignored
		{"198.51.100.1:5", "203.0.113.9", proxies, "198.51.100.1"}, // a peer that is no proxy
		{"10.1.2.3:5", "203.0.113.9", proxies, "203.0.113.9"},
		{"10.1.2.3:5", "6.6.6.6, 203.0.113.9, 10.9.9.9", proxies, "203.0.113.9"}, // the client cannot choose
		{"10.1.2.3:5", "203.0.113.9, junk", proxies, "10.1.2.3"},
		{"10.1.2.3:5", "", proxies, "10.1.2.3"},
		{"[::1]:5", "2001:db8::7", proxies, "2001:db8::7"},
		{"[::ffff:198.51.100.1]:5", "", nil, "198.51.100.1"},
		{"not an address", "", nil, "invalid IP"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		assert.Equal(t, c.want, clientAddr(r, c.trusted).String(), "%+v", c)
	}
	assert.Equal(t, "2001:db8:1:2::", clientKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")).String())
	assert.Equal(t, "198.51.100.1", clientKey(netip.MustParseAddr("::ffff:198.51.100.1")).String())
}

func TestTarpit(t *testing.T) {
	tp := &tarpit{delay: 50 * time.Millisecond, max: 1}
	start := time.Now()
	held := tp.hold(context.Background(), time.Hour)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.GreaterOrEqual(t, held, 50*time.Millisecond)
	// Never longer than until a retry may succeed.
	assert.Less(t, tp.hold(context.Background(), time.Millisecond), 40*time.Millisecond)
	// A request that ends stops waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Less(t, tp.hold(ctx, time.Hour), 40*time.Millisecond)
	// At most max held at once: the others are answered at once.
	long := &tarpit{delay: time.Hour, max: 1}
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { long.hold(ctx, time.Hour); close(done) }()
	require.Eventually(t, func() bool { return long.held.Load() == 1 }, 5*time.Second, time.Millisecond)
	assert.Zero(t, long.hold(context.Background(), time.Hour))
	cancel()
	<-done
	// Off.
	assert.Zero(t, (&tarpit{delay: -1, max: 10}).hold(context.Background(), time.Hour))

	// Through the authenticator: the 429 comes after the delay, and its
	// Retry is what remains.
	a := NewAuthenticator(Config{Users: testUsers(t), Limits: Limits{FailuresPerAddress: 1, FailureWindow: time.Minute, Tarpit: 100 * time.Millisecond}})
	_, err := a.Authenticate(basicReq("192.0.2.1:1", "a@b.it", "wrong"))
	require.ErrorIs(t, err, ErrUnauthenticated)
	start = time.Now()
	_, err = a.Authenticate(basicReq("192.0.2.1:1", "a@b.it", "wrong"))
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	le := limitErr(t, err, ErrRateLimited)
	assert.Less(t, le.Retry, time.Minute-100*time.Millisecond+time.Millisecond)
}
