package auth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// ErrUnauthenticated: no credentials, or credentials that do not prove
// who the caller is (wrong password, unknown user, bad token). The reason
// is never told to the caller.
var ErrUnauthenticated = errors.New("unauthenticated")

// errCrit: a token with a crit header (the reason stays in the server).
var errCrit = errors.New("token: crit header (no extension is understood)")

// Authenticator checks a request's credentials:
//
//   - Authorization: Basic, an email and password checked against the
//     users file's bcrypt hashes, behind the brake of Limits (bounded
//     concurrent bcrypt, failure limits per address and per email, a
//     short-lived cache of proven passwords);
//   - Authorization: JWT <token> (Tiledesk's scheme) or Bearer <token>,
//     signed HS256 with the shared secret or RS256 with the public key's
//     private half, with an exp claim (unless Config.AllowNoExp), no iat
//     in the future, no crit header, and the configured iss and aud.
//     The user is the users file's user whose id is the _id claim
//     (Tiledesk's) or else sub. A token of type bot or subscription
//     (claim type, or Tiledesk's sub "bot" / "subscription") that is not
//     in the users file stands for itself, a member of the project in its
//     id_project claim;
//   - with no Authorization header, ?secret_token=<jwt> when
//     Config.QueryToken is on and the request came protected (see
//     queryToken), checked as the header's JWT.
type Authenticator struct {
	secret  []byte
	pub     *rsa.PublicKey
	parser  *jwt.Parser
	now     func() time.Time
	trusted []netip.Prefix
	// queryTokens is Config.QueryToken.
	queryTokens bool

	dummy []byte // a hash checked for unknown emails, so they take as long

	gate    *gate
	tarpit  *tarpit
	byAddr  *failures[client]
	byEmail *failures[[16]byte]
	stats   counters

	mu     sync.Mutex // guards users and proven
	users  *Users
	proven *proofs
}

// Config configures New. Without a secret or a key, JWTs are refused.
type Config struct {
	Users     *Users
	JWTSecret []byte         // HS256; at least MinSecretBytes
	JWTPublic *rsa.PublicKey // RS256
	Leeway    time.Duration  // clock skew allowed on exp/nbf/iat
	Now       func() time.Time

	// Issuer, when set, must be the token's iss claim.
	Issuer string
	// Audience, when set: the token's aud claim must hold one of these.
	Audience []string
	// AllowNoExp accepts tokens without an exp claim (Tiledesk's own
	// tokens carry none); by default exp is required.
	AllowNoExp bool

	// Limits brakes password checks; the zero value is the defaults.
	Limits Limits
	// TrustedProxies are the peers whose X-Forwarded-For header names
	// the client (for the per-address limit); by default the TCP peer is
	// the client and the header is ignored. A request from one of them
	// that names no usable client is "an unknown client via" it (see the
	// package doc).
	TrustedProxies []netip.Prefix
	// QueryToken accepts a JWT in the URL, ?secret_token=<jwt>, as
	// Tiledesk's passport does, when the request has no Authorization
	// header and came over TLS, via a trusted proxy saying
	// X-Forwarded-Proto: https, or from loopback (querytoken.go). Off by
	// default: a URL is logged and kept in places a header is not.
	QueryToken bool
}

// MinSecretBytes is the shortest HS256 secret accepted: the 256 bits of
// the hash (RFC 7518 section 3.2).
const MinSecretBytes = 32

// ErrWeakSecret: the HS256 secret is shorter than MinSecretBytes.
var ErrWeakSecret = errors.New("the HS256 secret is too short")

// New returns an authenticator for cfg, or an error wrapping
// ErrWeakSecret for an HS256 secret shorter than MinSecretBytes.
func New(cfg Config) (*Authenticator, error) {
	if n := len(cfg.JWTSecret); n > 0 && n < MinSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d random bytes", ErrWeakSecret, n, MinSecretBytes)
	}
	lim := cfg.Limits.withDefaults()
	a := &Authenticator{secret: cfg.JWTSecret, pub: cfg.JWTPublic, users: cfg.Users, now: cfg.Now,
		trusted: cfg.TrustedProxies, queryTokens: cfg.QueryToken,
		gate:    newGate(lim),
		tarpit:  &tarpit{delay: lim.Tarpit, max: int64(lim.Tarpitted)},
		byAddr:  newFailures[client](lim.FailuresPerAddress, lim.FailureWindow, lim.Tracked),
		byEmail: newFailures[[16]byte](lim.FailuresPerEmail, lim.FailureWindow, lim.Tracked),
		proven:  newProofs(lim.CacheTTL, lim.CacheMaxAge, lim.CacheSize, lim.Tracked),
	}
	if a.users == nil {
		a.users = &Users{byEmail: map[string]*user{}, byID: map[string]*user{}}
	}
	if a.now == nil {
		a.now = time.Now
	}
	var methods []string
	if len(a.secret) > 0 {
		methods = append(methods, "HS256")
	}
	if a.pub != nil {
		methods = append(methods, "RS256")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithLeeway(cfg.Leeway), jwt.WithIssuedAt(), jwt.WithTimeFunc(a.now)}
	if !cfg.AllowNoExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if len(cfg.Audience) > 0 {
		opts = append(opts, jwt.WithAudience(cfg.Audience...))
	}
	a.parser = jwt.NewParser(opts...)
	a.dummy = dummyHash()
	return a, nil
}

// NewAuthenticator is New for a configuration known to be valid (tests,
// fixed configurations); it panics where New returns an error. Check
// configurations read from users with New.
func NewAuthenticator(cfg Config) *Authenticator {
	a, err := New(cfg)
	if err != nil {
		panic("auth.NewAuthenticator: " + err.Error())
	}
	return a
}

// SetUsers replaces the users (a reloaded users file) and forgets every
// proven password.
func (a *Authenticator) SetUsers(us *Users) {
	if us == nil {
		us = &Users{byEmail: map[string]*user{}, byID: map[string]*user{}}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users = us
	clear(a.proven.seen)
}

func (a *Authenticator) currentUsers() *Users {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users
}

// Stats returns the counts of the password checks so far.
func (a *Authenticator) Stats() Stats {
	return Stats{
		PasswordChecks: a.stats.checks.Load(),
		CacheHits:      a.stats.hits.Load(),
		RateLimited:    a.stats.limited.Load(),
		Busy:           a.stats.busy.Load(),
		UnknownClients: a.stats.unknown.Load(),
	}
}

// compareHash is bcrypt's comparison (a variable for the package's tests).
var compareHash = bcrypt.CompareHashAndPassword

// dummyHash is checked for unknown emails. It has the default cost, the
// cost `segmatch users add` uses, so an unknown email costs what a known
// one does. Computed once per process.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("segmatch-dummy-password"), bcrypt.DefaultCost)
	return h
})

// Authenticate returns the caller of r, or an error wrapping
// ErrUnauthenticated (ErrQueryToken for a secret_token refused before
// it is read), or (Basic only) a *LimitError wrapping ErrRateLimited or
// ErrBusy, or the request context's error. An Authorization header, when
// present, is the credential, whatever the query string holds.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		tok, err := a.queryToken(r)
		if errors.Is(err, errNoQueryToken) {
			return nil, ErrUnauthenticated
		}
		if err != nil {
			return nil, err
		}
		return a.jwt(tok)
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		email, password, ok := r.BasicAuth()
		if !ok {
			return nil, ErrUnauthenticated
		}
		return a.basic(r, email, password)
	case strings.EqualFold(scheme, "JWT"), strings.EqualFold(scheme, "Bearer"):
		return a.jwt(cred)
	}
	return nil, ErrUnauthenticated
}

// basic checks an email and password.
//
// A password proven lately is found by its HMAC and costs no bcrypt, and
// no limit applies to it (only the holder of the password can hit it);
// each such hit keeps the proof Limits.CacheTTL longer, up to
// Limits.CacheMaxAge after bcrypt made it.
// Otherwise the check reserves one failure of the client's address and
// one of the email (ErrRateLimited, answered after the tarpit's delay,
// when either has none left), waits for a bcrypt slot (ErrBusy when none
// frees in time), and compares; success gives the reservations back,
// failure keeps them. bcrypt always runs,
// against a dummy hash for an unknown email, and unknown emails are
// limited as known ones are, so neither timing nor limits tell which
// emails exist.
//
// An email is known at an address when it signed in from there (bcrypt
// or a proof) within Limits.CacheMaxAge, with the password its user has
// now; its checks from there reserve nothing of the email, only of the
// address. So failures from elsewhere, which an attacker can keep
// making at the email's rate from any number of addresses, do not lock
// out a client that keeps signing in (its proof expiring, idle beyond
// CacheTTL or past CacheMaxAge, sends it back to bcrypt, which it then
// reaches). What this gives up: a guesser sharing that address (the
// same IPv4 address or IPv6 /64) may guess that email at the address's
// rate rather than the email's; it was already bounded by the address's
// limit. An unknown client behind a trusted proxy is never known.
func (a *Authenticator) basic(r *http.Request, email, password string) (*Principal, error) {
	email = strings.ToLower(email)
	key := a.proven.sum(email, password)
	ek := a.proven.emailKey(email)
	who := clientOf(r, a.trusted).key()
	if who.unknown {
		a.stats.unknown.Add(1)
	}
	now := a.now()
	a.mu.Lock()
	users := a.users
	u := a.proven.get(key, now)
	if u != nil {
		a.proven.signedIn(ek, who, u, now)
	}
	known := u == nil && a.proven.isKnown(ek, who, users.byEmail[email], now)
	a.mu.Unlock()
	if u != nil {
		a.stats.hits.Add(1)
		return &u.Principal, nil
	}

	if wait, ok := a.byAddr.take(who, now); !ok {
		return nil, a.limited(r, wait)
	}
	if !known {
		if wait, ok := a.byEmail.take(ek, now); !ok {
			a.byAddr.refund(who, now)
			return nil, a.limited(r, wait)
		}
	}
	refund := func(now time.Time) {
		a.byAddr.refund(who, now)
		if !known {
			a.byEmail.refund(ek, now)
		}
	}
	if err := a.gate.enter(r.Context()); err != nil {
		refund(now)
		if errors.Is(err, ErrBusy) {
			a.stats.busy.Add(1)
		}
		return nil, err
	}
	u = users.byEmail[email]
	hash := a.dummy
	if u != nil && len(u.hash) > 0 {
		hash = u.hash
	}
	a.stats.checks.Add(1)
	err := compareHash(hash, []byte(password))
	a.gate.leave()
	if err != nil || u == nil || len(u.hash) == 0 {
		return nil, ErrUnauthenticated
	}
	now = a.now()
	refund(now)
	a.mu.Lock()
	if a.users == users { // not reloaded meanwhile
		a.proven.put(key, u, now)
		a.proven.signedIn(ek, who, u, now)
	}
	a.mu.Unlock()
	return &u.Principal, nil
}

// limited counts a rate-limited check, delays its answer (the tarpit)
// and returns its error, wait being when a retry may succeed.
func (a *Authenticator) limited(r *http.Request, wait time.Duration) error {
	a.stats.limited.Add(1)
	held := a.tarpit.hold(r.Context(), wait)
	return &LimitError{Err: ErrRateLimited, Retry: max(0, wait-held)}
}

func (a *Authenticator) jwt(token string) (*Principal, error) {
	if token == "" || (len(a.secret) == 0 && a.pub == nil) {
		return nil, ErrUnauthenticated
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		// RFC 7515 section 4.1.11: a recipient that does not understand
		// every extension listed in crit must refuse the token, and we
		// understand none.
		if _, ok := t.Header["crit"]; ok {
			return nil, errCrit
		}
		switch t.Method.Alg() {
		case "HS256":
			return a.secret, nil
		case "RS256":
			return a.pub, nil
		}
		return nil, errors.New("unexpected signing method")
	})
	if err != nil {
		return nil, ErrUnauthenticated
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id, sub := str("_id"), str("sub")
	typ := str("type")
	if id == "" {
		id = sub
	} else if typ == "" && (sub == TypeBot || sub == TypeSubscription) {
		typ = sub
	}
	if id == "" {
		return nil, ErrUnauthenticated
	}
	if u := a.currentUsers().byID[id]; u != nil {
		return &u.Principal, nil
	}
	if proj := str("id_project"); proj != "" && (typ == TypeBot || typ == TypeSubscription) {
		return &Principal{ID: id, Type: typ, Roles: map[string]Role{proj: Agent}}, nil
	}
	return nil, ErrUnauthenticated
}
