package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// users manages the users file of `segmatch serve`. One subcommand:
//
//	segmatch users add --users FILE --email E --project P --role R [--type user|bot|subscription]
//
// The password is the first line of stdin (so it never appears in the
// process list or shell history), stored as a bcrypt hash. Adding an
// existing email updates its role in the project, and its password when
// one is given. The file is replaced atomically.
func users(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: segmatch users add --users FILE --email EMAIL --project PROJECT_ID --role ROLE [--type user|bot|subscription] < password")
		return exitUsage
	}
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("users", "users.json", "the users `FILE` (created if missing)")
	email := fs.String("email", "", "the user's `EMAIL` (required)")
	project := fs.String("project", "", "the `PROJECT_ID` the role applies to (required)")
	roleName := fs.String("role", "agent", "the `ROLE` in the project: guest, user, agent, supervisor, admin or owner")
	typ := fs.String("type", "", "the user's `TYPE`: user, bot or subscription (default: user, or unchanged)")
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if *email == "" || *project == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "segmatch users add: --email and --project are required, and nothing else")
		return exitUsage
	}
	role, err := auth.ParseRole(*roleName)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch users add: %v\n", err)
		return exitUsage
	}
	switch *typ {
	case "", auth.TypeUser, auth.TypeBot, auth.TypeSubscription:
	default:
		fmt.Fprintf(stderr, "segmatch users add: --type %q: want user, bot or subscription\n", *typ)
		return exitUsage
	}

	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintf(stderr, "segmatch users add: reading the password: %v\n", err)
		return exitFailure
	}
	pw := strings.TrimRight(line, "\r\n")

	entries, err := auth.ReadEntries(*path)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch users add: %s: %v\n", *path, err)
		return exitFailure
	}
	var e *auth.Entry
	for i := range entries {
		if strings.EqualFold(entries[i].Email, *email) {
			e = &entries[i]
		}
	}
	verb := "updated"
	if e == nil {
		if pw == "" {
			fmt.Fprintln(stderr, "segmatch users add: a new user needs a password on stdin")
			return exitFailure
		}
		entries = append(entries, auth.Entry{ID: auth.NewUserID(), Email: *email, Type: auth.TypeUser})
		e = &entries[len(entries)-1]
		verb = "added"
	}
	if pw != "" {
		if len(pw) > 72 {
			fmt.Fprintln(stderr, "segmatch users add: the password is longer than bcrypt's 72 bytes")
			return exitFailure
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			fmt.Fprintf(stderr, "segmatch users add: %v\n", err)
			return exitFailure
		}
		e.PasswordHash = string(h)
	}
	if *typ != "" {
		e.Type = *typ
	}
	if e.Roles == nil {
		e.Roles = map[string]string{}
	}
	e.Roles[*project] = role.String()
	id := e.ID
	if err := auth.WriteEntries(*path, entries); err != nil {
		fmt.Fprintf(stderr, "segmatch users add: writing %s: %v\n", *path, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s user %s (%s): %s in project %s (a running server reads it on SIGHUP)\n", verb, id, *email, role, *project)
	return exitOK
}

// serveAuth holds the authentication flags of `segmatch serve`.
type serveAuth struct {
	issuer, audience, proxies *string
	allowNoExp                *bool
	concurrency               *int
	wait                      *time.Duration
	perAddress, perEmail      *int
	window, cacheTTL          *time.Duration
}

// authFlags defines the authentication flags of `segmatch serve` on fs.
func authFlags(fs *flag.FlagSet) *serveAuth {
	return &serveAuth{
		issuer:      fs.String("jwt-issuer", "", "when set, a JWT's iss claim must be `ISSUER`"),
		audience:    fs.String("jwt-audience", "", "when set, a JWT's aud claim must hold one of these comma-separated `AUDIENCES`"),
		allowNoExp:  fs.Bool("jwt-allow-no-exp", false, "accept JWTs without an exp claim (Tiledesk's own tokens carry none); by default exp is required"),
		proxies:     fs.String("trusted-proxy", "", "comma-separated addresses or `CIDRS` of reverse proxies whose X-Forwarded-For names the client (default none: the TCP peer is the client)"),
		concurrency: fs.Int("auth-concurrency", 0, "bcrypt password checks at once (0: max(1, GOMAXPROCS/2))"),
		wait:        fs.Duration("auth-wait", auth.DefaultWait, "how long a password check waits for a free slot before a 503 with Retry-After (0: no wait)"),
		perAddress:  fs.Int("auth-failures-per-address", auth.DefaultFailuresPerAddress, "failed password checks a client address (IPv6: its /64) may make per --auth-failure-window before a 429 with Retry-After (0: no limit)"),
		perEmail:    fs.Int("auth-failures-per-email", auth.DefaultFailuresPerEmail, "failed password checks for one email, from any address, per --auth-failure-window before a 429 (0: no limit)"),
		window:      fs.Duration("auth-failure-window", auth.DefaultFailureWindow, "the window of the failure limits"),
		cacheTTL:    fs.Duration("auth-cache-ttl", auth.DefaultCacheTTL, "how long a password proven by bcrypt is remembered (0: not at all)"),
	}
}

// config is the auth.Config of the flags (without the JWT keys), or a
// usage error.
func (f *serveAuth) config(users *auth.Users) (auth.Config, error) {
	off := func(n int) int { // the flags' 0 is auth.Limits' negative: off
		if n <= 0 {
			return -1
		}
		return n
	}
	offD := func(d time.Duration) time.Duration {
		if d <= 0 {
			return -1
		}
		return d
	}
	if *f.concurrency < 0 {
		return auth.Config{}, fmt.Errorf("--auth-concurrency %d: want 0 (automatic) or more", *f.concurrency)
	}
	if *f.window <= 0 && (*f.perAddress > 0 || *f.perEmail > 0) {
		return auth.Config{}, fmt.Errorf("--auth-failure-window %v: want a positive duration", *f.window)
	}
	proxies, err := auth.ParseProxies(*f.proxies)
	if err != nil {
		return auth.Config{}, fmt.Errorf("--trusted-proxy: %w", err)
	}
	var aud []string
	for _, a := range strings.Split(*f.audience, ",") {
		if a = strings.TrimSpace(a); a != "" {
			aud = append(aud, a)
		}
	}
	return auth.Config{
		Users:          users,
		Leeway:         30 * time.Second,
		Issuer:         *f.issuer,
		Audience:       aud,
		AllowNoExp:     *f.allowNoExp,
		TrustedProxies: proxies,
		Limits: auth.Limits{
			Concurrency:        *f.concurrency,
			Wait:               offD(*f.wait),
			FailuresPerAddress: off(*f.perAddress),
			FailuresPerEmail:   off(*f.perEmail),
			FailureWindow:      *f.window,
			CacheTTL:           offD(*f.cacheTTL),
		},
	}, nil
}

// reloadUsersOnHUP reloads the users file into a on every signal of hup
// (SIGHUP; so that `segmatch users add` takes effect without a
// restart; proven passwords are forgotten), keeping the old users when
// the file does not load. Each reload is logged, and its outcome. The
// caller subscribes hup (serve does at its start, so that a SIGHUP
// never kills the server). The returned function stops it.
func reloadUsersOnHUP(hup <-chan os.Signal, path string, a *auth.Authenticator, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case sig := <-hup:
				log.Info("reloading users", "signal", sig.String(), "users", path)
				us, err := auth.LoadUsers(path)
				if err != nil {
					log.Error("reloading users failed; keeping the loaded ones", "users", path, "err", err)
					continue
				}
				a.SetUsers(us)
				log.Info("users reloaded", "users", us.Len())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
