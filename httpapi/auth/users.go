// Package auth authenticates API callers (HTTP Basic against a users file,
// or a JWT) and authorises them per project by role, as the Tiledesk
// server does: roles are per project, ordered guest < user < agent <
// supervisor < admin < owner, and callers of type bot or subscription pass
// the role check (they must still belong to the project).
//
// Password checks cost bcrypt, so they are braked (Limits): a bounded
// number run at once, failures are limited per client address and per
// email, and a proven password is remembered briefly. Refusals are
// *LimitError values wrapping ErrRateLimited or ErrBusy.
//
// The client address is the TCP peer, or, from a trusted proxy
// (Config.TrustedProxies), the rightmost X-Forwarded-For hop that is no
// trusted proxy; several header lines are one list, and a hop may carry
// a port or brackets (203.0.113.7:51000, [2001:db8::1]:443). A request
// from a trusted proxy that names no usable client (no header, or an
// unreadable hop before any untrusted one) is charged to "an unknown
// client via" that proxy: one failure limit shared by all such
// requests of that proxy, apart from the proxy's own address, and
// counted in Stats.UnknownClients: a proxy that leaves the header out
// puts every client behind it in that one limit, so one guesser can
// refuse them all. The standard Forwarded header is not read: a proxy
// that writes only X-Forwarded-For may pass a client's Forwarded
// through, which would let the client choose its address.
//
// A proven password lasts Limits.CacheTTL (2 min) after its last use and
// at most Limits.CacheMaxAge (30 min) after bcrypt proved it. And an
// email that signed in from an address within CacheMaxAge is known
// there: its checks from that address are charged to the address's
// limit only, not to the email's, so an attacker who keeps the email's
// limit spent from elsewhere (it needs only FailuresPerEmail guesses a
// window, from anywhere) cannot lock out a client that keeps signing
// in, when its proof expires. Renewal alone would only postpone that
// lockout to CacheMaxAge, and renewing without end would keep a fast
// (HMAC) check of each password in memory for as long as it is used;
// known addresses keep no password. The price: a guesser sharing a
// known address (its IPv4 address or IPv6 /64) may guess that email at
// the address's rate, not the email's.
package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Role is a project role; a higher value includes the lower ones.
type Role int

// The roles, lowest to highest.
const (
	Guest Role = iota + 1
	User
	Agent
	Supervisor
	Admin
	Owner
)

var roleNames = map[Role]string{Guest: "guest", User: "user", Agent: "agent", Supervisor: "supervisor", Admin: "admin", Owner: "owner"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole reads a role name (case-insensitive).
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if strings.EqualFold(s, n) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want guest, user, agent, supervisor, admin or owner)", s)
}

// User types. Bots and subscriptions pass the role check, as in Tiledesk.
const (
	TypeUser         = "user"
	TypeBot          = "bot"
	TypeSubscription = "subscription"
)

// Entry is one user of the users file:
//
//	{"id": "u1", "email": "a@b.it", "password_hash": "<bcrypt>", "type": "user", "roles": {"<project_id>": "agent"}}
type Entry struct {
	ID           string            `json:"id"`
	Email        string            `json:"email"`
	PasswordHash string            `json:"password_hash,omitempty"`
	Type         string            `json:"type,omitempty"`
	Roles        map[string]string `json:"roles"`
}

// Principal is an authenticated caller.
type Principal struct {
	ID    string
	Email string
	Type  string
	Roles map[string]Role // project id -> role
}

// Authorisation errors.
var (
	// ErrNotMember: the caller has no role in the project.
	ErrNotMember = errors.New("you dont belong to the project.")
	// ErrRole: the caller's role in the project is below the minimum.
	ErrRole = errors.New("you dont have the required role.")
)

// Allow checks that p may act in project with at least role min.
func (p *Principal) Allow(project string, min Role) error {
	r, ok := p.Roles[project]
	if !ok {
		return ErrNotMember
	}
	if p.Type == TypeBot || p.Type == TypeSubscription {
		return nil
	}
	if r < min {
		return ErrRole
	}
	return nil
}

// Users is a parsed users file: immutable, safe for concurrent use.
type Users struct {
	byEmail map[string]*user
	byID    map[string]*user
}

type user struct {
	Principal
	hash []byte
}

// ParseUsers reads a users file's content and checks it: every user has
// an id and an email, both unique (emails case-insensitively), a known
// type, known role names, and a bcrypt password hash or none.
func ParseUsers(data []byte) (*Users, error) {
	var entries []Entry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	us := &Users{byEmail: map[string]*user{}, byID: map[string]*user{}}
	for i, e := range entries {
		if e.ID == "" || e.Email == "" {
			return nil, fmt.Errorf("users file: entry %d: id and email are required", i)
		}
		email := strings.ToLower(e.Email)
		if us.byEmail[email] != nil || us.byID[e.ID] != nil {
			return nil, fmt.Errorf("users file: entry %d: duplicate id or email", i)
		}
		typ := e.Type
		if typ == "" {
			typ = TypeUser
		}
		if typ != TypeUser && typ != TypeBot && typ != TypeSubscription {
			return nil, fmt.Errorf("users file: entry %d: unknown type %q", i, e.Type)
		}
		if e.PasswordHash != "" {
			// a malformed hash would fail at once where a wrong password
			// costs a bcrypt comparison: refuse it rather than show, by
			// timing, which emails exist
			if _, err := bcrypt.Cost([]byte(e.PasswordHash)); err != nil {
				return nil, fmt.Errorf("users file: entry %d: password_hash is not a bcrypt hash: %w", i, err)
			}
		}
		u := &user{Principal: Principal{ID: e.ID, Email: e.Email, Type: typ, Roles: map[string]Role{}}, hash: []byte(e.PasswordHash)}
		for proj, name := range e.Roles {
			r, err := ParseRole(name)
			if err != nil {
				return nil, fmt.Errorf("users file: entry %d, project %q: %w", i, proj, err)
			}
			u.Roles[proj] = r
		}
		us.byEmail[email] = u
		us.byID[e.ID] = u
	}
	return us, nil
}

// LoadUsers reads and parses a users file.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseUsers(data)
}

// Len is the number of users.
func (us *Users) Len() int { return len(us.byID) }

// ReadEntries reads a users file for editing; a missing file is empty.
func ReadEntries(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := ParseUsers(data); err != nil {
		return nil, err
	}
	var entries []Entry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// WriteEntries writes a users file atomically: a temporary file in the
// same directory, synced, then renamed over path, so a reader (or a
// crash) sees the old file or the new one, never a partial one. The file
// holds password hashes, so it is created readable by its owner only.
func WriteEntries(path string, entries []Entry) error {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	if _, err := ParseUsers(data); err != nil {
		return err
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable where the OS allows it
		d.Close()
	}
	return nil
}

// NewUserID returns a random 24-hex user id (the shape of Tiledesk's).
func NewUserID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
