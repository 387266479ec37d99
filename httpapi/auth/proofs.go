package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

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
		makeRoom(p.seen, p.max, func(pr proof) bool { return !now.Before(pr.expires) })
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
		makeRoom(p.known, p.maxKnown, func(e knownAt) bool { return !now.Before(e.expires) })
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

// makeRoom brings m under limit entries: the expired ones go first, then
// any (Go's map order is as good as random for this).
func makeRoom[K comparable, V any](m map[K]V, limit int, expired func(V) bool) {
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < limit {
			break
		}
		delete(m, k)
	}
}
