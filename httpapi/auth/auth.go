package auth

import (
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"net/http"
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

// Authenticator checks a request's credentials:
//
//   - Authorization: Basic, an email and password checked against the
//     users file's bcrypt hashes;
//   - Authorization: JWT <token> (Tiledesk's scheme) or Bearer <token>,
//     signed HS256 with the shared secret or RS256 with the public key's
//     private half, with an exp claim. The user is the users file's user
//     whose id is the _id claim (Tiledesk's) or else sub. A token of type
//     bot or subscription (claim type, or Tiledesk's sub "bot" /
//     "subscription") that is not in the users file stands for itself,
//     a member of the project in its id_project claim.
type Authenticator struct {
	users  *Users
	secret []byte
	pub    *rsa.PublicKey
	parser *jwt.Parser

	dummy []byte // a hash checked for unknown emails, so they take as long

	mu     sync.Mutex
	proven map[[32]byte]struct{} // bcrypt results already proven correct
}

// Config configures NewAuthenticator. Without a secret or a key, JWTs
// are refused.
type Config struct {
	Users     *Users
	JWTSecret []byte         // HS256
	JWTPublic *rsa.PublicKey // RS256
	Leeway    time.Duration  // clock skew allowed on exp/nbf/iat
	Now       func() time.Time
}

// maxProven bounds the cache of proven credentials.
const maxProven = 4096

// NewAuthenticator returns an authenticator for cfg.
func NewAuthenticator(cfg Config) *Authenticator {
	a := &Authenticator{users: cfg.Users, secret: cfg.JWTSecret, pub: cfg.JWTPublic, proven: map[[32]byte]struct{}{}}
	if a.users == nil {
		a.users = &Users{byEmail: map[string]*user{}, byID: map[string]*user{}}
	}
	var methods []string
	if len(a.secret) > 0 {
		methods = append(methods, "HS256")
	}
	if a.pub != nil {
		methods = append(methods, "RS256")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway)}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	a.parser = jwt.NewParser(opts...)
	a.dummy = dummyHash()
	return a
}

// dummyHash is checked for unknown emails. It has the default cost, the
// cost `segmatch users add` uses, so an unknown email costs what a known
// one does. Computed once per process.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("segmatch-dummy-password"), bcrypt.DefaultCost)
	return h
})

// Authenticate returns the caller of r, or ErrUnauthenticated.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		email, password, ok := r.BasicAuth()
		if !ok {
			return nil, ErrUnauthenticated
		}
		return a.basic(email, password)
	case strings.EqualFold(scheme, "JWT"), strings.EqualFold(scheme, "Bearer"):
		return a.jwt(cred)
	}
	return nil, ErrUnauthenticated
}

// basic checks an email and password. bcrypt always runs, against a
// dummy hash for an unknown email, so timing does not tell which emails
// exist. Correct credentials are remembered (by a SHA-256 of email,
// password and stored hash, never the password itself) so that a client
// repeating them does not pay bcrypt on every request; only the holder of
// the password can hit that cache.
func (a *Authenticator) basic(email, password string) (*Principal, error) {
	u := a.users.byEmail[strings.ToLower(email)]
	hash := a.dummy
	if u != nil && len(u.hash) > 0 {
		hash = u.hash
	}
	key := sha256.Sum256([]byte(strings.ToLower(email) + "\x00" + password + "\x00" + string(hash)))
	a.mu.Lock()
	_, ok := a.proven[key]
	a.mu.Unlock()
	if !ok {
		if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u == nil || len(u.hash) == 0 {
			return nil, ErrUnauthenticated
		}
		a.mu.Lock()
		if len(a.proven) >= maxProven {
			clear(a.proven)
		}
		a.proven[key] = struct{}{}
		a.mu.Unlock()
	}
	return &u.Principal, nil
}

func (a *Authenticator) jwt(token string) (*Principal, error) {
	if token == "" || (len(a.secret) == 0 && a.pub == nil) {
		return nil, ErrUnauthenticated
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
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
	if u := a.users.byID[id]; u != nil {
		return &u.Principal, nil
	}
	if proj := str("id_project"); proj != "" && (typ == TypeBot || typ == TypeSubscription) {
		return &Principal{ID: id, Type: typ, Roles: map[string]Role{proj: Agent}}, nil
	}
	return nil, ErrUnauthenticated
}
