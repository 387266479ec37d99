package auth

import (
	"errors"
	"fmt"
	"runtime"
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
