package auth

import (
	"bytes"
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The brake on password checks: bcrypt is slow on purpose, so an
// unauthenticated client sending wrong passwords could otherwise keep
// every core busy. Refused checks are typed errors carrying when to retry.
var (
	// ErrRateLimited: the client's address, or the email it signs in as,
	// failed too many password checks lately (HTTP 429).
	ErrRateLimited = errors.New("too many failed sign-ins")
	// ErrBusy: every password-check slot is taken and the wait for one
	// ran out, or too many checks already wait (HTTP 503).
	ErrBusy = errors.New("too many password checks at once")
)

// LimitError is a password check that was not made. It wraps
// ErrRateLimited or ErrBusy (errors.Is) and tells when to try again.
type LimitError struct {
	Err   error         // ErrRateLimited or ErrBusy
	Retry time.Duration // when a retry may succeed
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v (retry in %v)", e.Err, e.Retry.Round(time.Millisecond))
}

func (e *LimitError) Unwrap() error { return e.Err }

// RetryAfter is how long the client should wait (for a Retry-After header).
func (e *LimitError) RetryAfter() time.Duration { return e.Retry }

// Limits bounds the cost of password (Basic) checks. A zero field is its
// default; a negative one turns that bound off, except as noted.
// JWTs are cheap to check (one HMAC or RSA verification) and are not
// limited here.
type Limits struct {
	// Concurrency is how many bcrypt comparisons run at once.
	// 0: max(1, GOMAXPROCS/2), so at least half the cores stay free.
	// Negative: no bound (not advised).
	Concurrency int
	// Wait is how long a check waits for a free slot before ErrBusy.
	// 0: 1 s. Negative: no wait, ErrBusy at once.
	Wait time.Duration
	// Waiting bounds the checks waiting for a slot; one more is ErrBusy
	// at once. 0: 64 per slot.
	Waiting int
	// FailuresPerAddress is how many failed checks one client address
	// (an IPv6 address's /64) may make per FailureWindow, in a burst or
	// spread out; beyond, ErrRateLimited. 0: 10.
	FailuresPerAddress int
	// FailuresPerEmail is the same for one email, from any address. 0: 5.
	FailuresPerEmail int
	// FailureWindow is the window of the failure limits: a failure is
	// forgotten FailureWindow/limit after it was made. 0: 1 min.
	FailureWindow time.Duration
	// Tracked bounds the addresses, and separately the emails, whose
	// recent failures are remembered; the least recently failed is
	// forgotten first. 0 or negative: 10000.
	Tracked int
	// CacheTTL is how long a password proven by bcrypt is remembered
	// (keyed by an HMAC of email and password under a per-process random
	// key; never the password) after its last use, within CacheMaxAge,
	// so that honest clients do not pay bcrypt on every request. 0:
	// 2 min; negative: none remembered. SetUsers forgets them all.
	CacheTTL time.Duration
	// CacheMaxAge bounds how long use keeps a proven password: each
	// check it answers keeps it CacheTTL longer, never past CacheMaxAge
	// after bcrypt proved it (then bcrypt runs again), so a client that
	// stays signed in pays bcrypt once per CacheMaxAge, not once per
	// CacheTTL. It is also how long, after its last success, an email
	// stays known at a client address (see Authenticator.basic): from
	// there its checks are charged to the address only, not to the
	// email. 0: 30 min (at least CacheTTL). Negative: neither (a proof
	// lasts CacheTTL from bcrypt, every check is charged to the email).
	CacheMaxAge time.Duration
	// CacheSize bounds the remembered passwords. 0: 4096; negative: none.
	CacheSize int
	// Tarpit delays the answer to a rate-limited check by this much, or
	// less when a retry may succeed sooner or the request ends first:
	// a client that ignores Retry-After and retries at once then sends a
	// few requests per second, not thousands. 0: 1 s; negative: none.
	Tarpit time.Duration
	// Tarpitted bounds the answers delayed at once (each holds a
	// goroutine and a connection); beyond, they are answered at once.
	// 0: 512.
	Tarpitted int
}

// Defaults of Limits.
const (
	DefaultWait               = time.Second
	DefaultWaitingPerSlot     = 64
	DefaultFailuresPerAddress = 10
	DefaultFailuresPerEmail   = 5
	DefaultFailureWindow      = time.Minute
	DefaultTracked            = 10000
	DefaultCacheTTL           = 2 * time.Minute
	DefaultCacheMaxAge        = 30 * time.Minute
	DefaultCacheSize          = 4096
	DefaultTarpit             = time.Second
	DefaultTarpitted          = 512
)

// busyRetry is the Retry-After of ErrBusy.
const busyRetry = time.Second

// withDefaults fills in the zero fields of l.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.Concurrency, max(1, runtime.GOMAXPROCS(0)/2))
	defD(&l.Wait, DefaultWait)
	def(&l.Waiting, DefaultWaitingPerSlot*max(1, l.Concurrency))
	def(&l.FailuresPerAddress, DefaultFailuresPerAddress)
	def(&l.FailuresPerEmail, DefaultFailuresPerEmail)
	defD(&l.FailureWindow, DefaultFailureWindow)
	def(&l.Tracked, DefaultTracked)
	defD(&l.CacheTTL, DefaultCacheTTL)
	defD(&l.CacheMaxAge, DefaultCacheMaxAge)
	def(&l.CacheSize, DefaultCacheSize)
	defD(&l.Tarpit, DefaultTarpit)
	def(&l.Tarpitted, DefaultTarpitted)
	return l
}

// Stats counts what the password checks did, since the start.
type Stats struct {
	PasswordChecks uint64 // bcrypt comparisons made
	CacheHits      uint64 // Basic checks answered from proven passwords
	RateLimited    uint64 // checks refused with ErrRateLimited
	Busy           uint64 // checks refused with ErrBusy
	// UnknownClients counts Basic checks from a trusted proxy that named
	// no usable client (no X-Forwarded-For, or an unreadable hop): they
	// share one failure limit per proxy. Not zero: fix the proxy.
	UnknownClients uint64
}

type counters struct {
	checks, hits, limited, busy, unknown atomic.Uint64
}

// gate bounds the bcrypt comparisons running at once, with a bounded
// wait and a bounded number of waiters.
type gate struct {
	slots   chan struct{} // nil: unbounded
	wait    time.Duration
	waiting atomic.Int64
	maxWait int64
}

func newGate(l Limits) *gate {
	g := &gate{wait: l.Wait, maxWait: int64(l.Waiting)}
	if l.Concurrency > 0 {
		g.slots = make(chan struct{}, l.Concurrency)
	}
	return g
}

// enter takes a slot, or returns a *LimitError (ErrBusy), or ctx's error.
func (g *gate) enter(ctx context.Context) error {
	if g.slots == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	busy := &LimitError{Err: ErrBusy, Retry: busyRetry}
	if g.wait <= 0 {
		return busy
	}
	if n := g.waiting.Add(1); g.maxWait >= 0 && n > g.maxWait {
		g.waiting.Add(-1)
		return busy
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-t.C:
		return busy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) leave() {
	if g.slots != nil {
		<-g.slots
	}
}

// tarpit delays rate-limited answers, a bounded number at once.
type tarpit struct {
	delay time.Duration // <= 0: none
	max   int64
	held  atomic.Int64
}

// hold waits min(delay, retry), or until ctx ends, unless max answers
// are already held, and returns how long it waited.
func (t *tarpit) hold(ctx context.Context, retry time.Duration) time.Duration {
	d := min(t.delay, retry)
	if d <= 0 {
		return 0
	}
	if t.held.Add(1) > t.max {
		t.held.Add(-1)
		return 0
	}
	defer t.held.Add(-1)
	start := time.Now()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
	return time.Since(start)
}

// failures is a token bucket per key (an address or an email) of the
// failed checks it may still make, in a bounded LRU: at most max keys are
// remembered, the least recently touched forgotten first. A key with a
// full bucket is not remembered at all, so honest traffic adds nothing.
type failures[K comparable] struct {
	mu    sync.Mutex
	burst float64 // bucket size; <= 0: no limit
	rate  float64 // tokens regained per second
	max   int
	lru   *list.List // of *bucket[K], most recent first
	byKey map[K]*list.Element
}

type bucket[K comparable] struct {
	key    K
	tokens float64
	last   time.Time
}

func newFailures[K comparable](burst int, window time.Duration, max int) *failures[K] {
	f := &failures[K]{max: max, lru: list.New(), byKey: map[K]*list.Element{}}
	if burst > 0 && window > 0 {
		f.burst = float64(burst)
		f.rate = float64(burst) / window.Seconds()
	}
	if f.max <= 0 {
		f.max = DefaultTracked
	}
	return f
}

func (f *failures[K]) refill(b *bucket[K], now time.Time) {
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(f.burst, b.tokens+d*f.rate)
	}
	b.last = now
}

// take reserves one failure for key: true, or false and the wait until
// one is available. A check that then succeeds gives it back (refund).
func (f *failures[K]) take(key K, now time.Time) (time.Duration, bool) {
	if f.burst <= 0 {
		return 0, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var b *bucket[K]
	if e := f.byKey[key]; e != nil {
		b = e.Value.(*bucket[K])
		f.refill(b, now)
		f.lru.MoveToFront(e)
	} else {
		for f.lru.Len() >= f.max {
			old := f.lru.Back()
			delete(f.byKey, old.Value.(*bucket[K]).key)
			f.lru.Remove(old)
		}
		b = &bucket[K]{key: key, tokens: f.burst, last: now}
		f.byKey[key] = f.lru.PushFront(b)
	}
	if b.tokens < 1 { // the wait rounded up: a refusal never says "retry now"
		return time.Duration(math.Ceil((1 - b.tokens) / f.rate * float64(time.Second))), false
	}
	b.tokens--
	return 0, true
}

// refund gives back a failure reserved by take for a check that succeeded
// (or was not made).
func (f *failures[K]) refund(key K, now time.Time) {
	if f.burst <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.byKey[key]
	if e == nil {
		return
	}
	b := e.Value.(*bucket[K])
	f.refill(b, now)
	b.tokens = min(f.burst, b.tokens+1)
	if b.tokens >= f.burst {
		delete(f.byKey, key)
		f.lru.Remove(e)
	}
}

// len is the number of keys remembered.
func (f *failures[K]) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len()
}

// proofs remembers passwords proven by bcrypt, by an HMAC of email and
// password under a random per-process key: neither the password nor an
// offline-checkable hash of it is kept. Bounded in size and age: a proof
// is forgotten ttl after its last use, and at the latest maxAge after
// bcrypt made it.
//
// It also remembers, for maxAge after the last success, the client
// addresses where each email signed in (known): no password is kept for
// them, only the email's HMAC and the user's bcrypt hash of that time.
type proofs struct {
	key    [32]byte
	ttl    time.Duration // <= 0: nothing is remembered
	maxAge time.Duration // <= 0: no renewal and nothing known
	max    int
	seen   map[[32]byte]proof

	maxKnown int
	known    map[knownKey]knownAt
}

type proof struct {
	u       *user
	expires time.Time // ttl after the last use
	until   time.Time // maxAge after bcrypt: expires never goes past it
}

// knownKey is an email (its emailKey) and a client (clientKey'd).
type knownKey struct {
	email [16]byte
	at    client
}

type knownAt struct {
	hash    []byte // the user's bcrypt hash when it signed in there
	expires time.Time
}

func newProofs(ttl, maxAge time.Duration, max, maxKnown int) *proofs {
	p := &proofs{ttl: ttl, maxAge: maxAge, max: max, seen: map[[32]byte]proof{},
		maxKnown: maxKnown, known: map[knownKey]knownAt{}}
	if p.maxKnown <= 0 {
		p.maxKnown = DefaultTracked
	}
	if _, err := rand.Read(p.key[:]); err != nil {
		panic("auth: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return p
}

// sum is the cache key of an email (lower-cased) and password; the
// email's length is written first so that no two pairs share a message.
func (p *proofs) sum(email, password string) [32]byte {
	m := hmac.New(sha256.New, p.key[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(email)))
	m.Write(n[:])
	m.Write([]byte(email))
	m.Write([]byte(password))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// emailKey is the key of an email for the failure limit: a fixed-size
// HMAC (in its own domain), so that long emails cost no more memory than
// short ones.
func (p *proofs) emailKey(email string) [16]byte {
	m := hmac.New(sha256.New, p.key[:])
	m.Write([]byte("segmatch email limit\x00"))
	m.Write([]byte(email))
	var k [16]byte
	copy(k[:], m.Sum(nil))
	return k
}

// get returns the user proven under k, if any and still fresh, and
// renews the proof: ttl from now, but not past its maximum age. The
// caller holds the Authenticator's lock.
func (p *proofs) get(k [32]byte, now time.Time) *user {
	pr, ok := p.seen[k]
	if !ok {
		return nil
	}
	if !now.Before(pr.expires) {
		delete(p.seen, k)
		return nil
	}
	if e := now.Add(p.ttl); e.Before(pr.until) {
		pr.expires = e
	} else {
		pr.expires = pr.until
	}
	p.seen[k] = pr
	return pr.u
}

// put remembers k for u. The caller holds the Authenticator's lock.
func (p *proofs) put(k [32]byte, u *user, now time.Time) {
	if p.ttl <= 0 || p.max <= 0 {
		return
	}
	if len(p.seen) >= p.max {
		for k2, pr := range p.seen {
			if !now.Before(pr.expires) {
				delete(p.seen, k2)
			}
		}
		for k2 := range p.seen { // still full: forget one at random
			if len(p.seen) < p.max {
				break
			}
			delete(p.seen, k2)
		}
	}
	pr := proof{u: u, expires: now.Add(p.ttl), until: now.Add(max(p.ttl, p.maxAge))}
	p.seen[k] = pr
}

// signedIn records that u (of email key ek) signed in from c, by bcrypt
// or a proof. Unknown clients (a trusted proxy that named none) are
// never recorded: they are no address. The caller holds the
// Authenticator's lock.
func (p *proofs) signedIn(ek [16]byte, c client, u *user, now time.Time) {
	if p.maxAge <= 0 || c.unknown || u == nil || len(u.hash) == 0 {
		return
	}
	k := knownKey{ek, c}
	if _, ok := p.known[k]; !ok && len(p.known) >= p.maxKnown {
		for k2, e := range p.known {
			if !now.Before(e.expires) {
				delete(p.known, k2)
			}
		}
		for k2 := range p.known { // still full: forget one at random
			if len(p.known) < p.maxKnown {
				break
			}
			delete(p.known, k2)
		}
	}
	p.known[k] = knownAt{hash: u.hash, expires: now.Add(p.maxAge)}
}

// isKnown tells whether u (of email key ek; nil for an unknown email)
// signed in from c within maxAge, with the password it has now (a
// reload that changed it, or removed u, ends it). The caller holds the
// Authenticator's lock.
func (p *proofs) isKnown(ek [16]byte, c client, u *user, now time.Time) bool {
	if c.unknown || u == nil || len(u.hash) == 0 {
		return false
	}
	k := knownKey{ek, c}
	e, ok := p.known[k]
	if !ok {
		return false
	}
	if !now.Before(e.expires) {
		delete(p.known, k)
		return false
	}
	return bytes.Equal(e.hash, u.hash)
}

// clientKey is the key of a client address for the failure limit: the
// address itself for IPv4, its /64 for IPv6 (one host usually holds a
// whole /64). The zero Addr stands for an address that cannot be read.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a.WithZone("")
}

// client is who a failed check is charged to (the per-address limit):
// a client address, or, when a trusted proxy forwarded the request
// without naming a usable client, "an unknown client via" that proxy,
// a key of its own distinct from the proxy's address.
type client struct {
	addr    netip.Addr
	unknown bool // addr is the trusted proxy that named no usable client
}

func (c client) String() string {
	if c.unknown {
		return "unknown client via " + c.addr.String()
	}
	return c.addr.String()
}

// key is c for the failure limit (clientKey of its address).
func (c client) key() client { return client{clientKey(c.addr), c.unknown} }

// clientAddr is the address of r's client (see clientOf): the TCP peer,
// a forwarded client, or the trusted proxy that named none.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return clientOf(r, trusted).addr
}

// clientOf is r's client: the TCP peer, or, when the peer is one of the
// trusted proxies, the rightmost X-Forwarded-For hop that is not a
// trusted proxy (the header's lines taken in order, as one list). A hop
// may carry a port (192.0.2.7:51000, [2001:db8::1]:443) or brackets
// ([2001:db8::1]). When the hops run out, or one cannot be read, before
// an untrusted one, the client is unknown: "unknown client via" the
// last trusted proxy (nothing left of an unreadable hop is trusted). A
// request whose hops are all trusted proxies comes from the leftmost.
func clientOf(r *http.Request, trusted []netip.Prefix) client {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := peer.Addr()
	if err != nil {
		addr, _ = netip.ParseAddr(r.RemoteAddr) // a bare address (tests); else the zero Addr
	}
	addr = addr.Unmap()
	if len(trusted) == 0 || !inAny(addr, trusted) {
		return client{addr: addr}
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	if len(hops) == 0 {
		return client{addr: addr, unknown: true}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			return client{addr: addr, unknown: true}
		}
		addr = hop
		if !inAny(addr, trusted) {
			break
		}
	}
	return client{addr: addr}
}

// parseHop reads one X-Forwarded-For hop: an address, with or without a
// port, an IPv6 one with or without brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes (the --trusted-proxy flag).
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
