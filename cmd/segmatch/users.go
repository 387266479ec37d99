package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/mail"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// users manages the users file of `segmatch serve`:
//
//	segmatch users add --users FILE --email E --project P --role R [--type user|bot|subscription]
//	segmatch users list --users FILE [--project P]
//	segmatch users remove --users FILE --email E [--project P]
//
// add reads the password from the terminal without echo (twice, for a
// new one) when stdin is one, else as the first line of stdin (so it
// never appears in the process list or shell history), and stores it as
// a bcrypt hash. Adding an existing email updates its role in the
// project, and its password when one is given. list never shows a hash.
// Every change replaces the file atomically (auth.WriteEntries).
func users(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return usersAdd(args[1:], stdin, stdout, stderr)
		case "list", "ls":
			return usersList(args[1:], stdout, stderr)
		case "remove", "rm":
			return usersRemove(args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usersUsage)
	return exitUsage
}

const usersUsage = `usage:
  segmatch users add --users FILE --email EMAIL --project PROJECT_ID --role ROLE [--type user|bot|subscription]
      (the password: typed without echo on a terminal, else the first line of stdin)
  segmatch users list --users FILE [--project PROJECT_ID]
  segmatch users remove --users FILE --email EMAIL [--project PROJECT_ID]
`

// stdinTerminal is stdin's file descriptor when it is a terminal; tests
// run the binary on a pseudo-terminal.
func stdinTerminal(stdin io.Reader) (fd int, ok bool) {
	f, isFile := stdin.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// checkEmail accepts a plain address (name@example.com), not a display
// name or angle brackets: the users file's emails are what clients sign
// in with.
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "mail: ")
		return fmt.Errorf("--email %q is not an email address (%s); want a plain address such as name@example.com", s, msg)
	}
	if a.Name != "" || a.Address != s {
		return fmt.Errorf("--email %q: want the plain address %s, without a name, angle brackets or spaces", s, a.Address)
	}
	return nil
}

// readPassword reads the password of usersAdd: without echo, prompted on
// stderr and asked twice when stdin is a terminal (an empty answer
// keeps an existing user's password), else the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer, email string, exists bool) (string, error) {
	fd, tty := stdinTerminal(stdin)
	if !tty {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	// ^C at the prompt would leave the terminal without echo: restore it
	// first (term.ReadPassword restores it only when it returns).
	if state, err := term.GetState(fd); err == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		done := make(chan struct{})
		defer func() { signal.Stop(sig); close(done) }()
		go func() {
			select {
			case s := <-sig:
				_ = term.Restore(fd, state)
				fmt.Fprintln(stderr)
				code := 130 // 128 + SIGINT, as a shell reports it
				if s == syscall.SIGTERM {
					code = 143
				}
				os.Exit(code)
			case <-done:
			}
		}()
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr) // the Enter that was not echoed
		if err != nil {
			return "", fmt.Errorf("reading the password from the terminal: %w", err)
		}
		return strings.TrimRight(string(pw), "\r"), nil
	}
	prompt := "Password for " + email + ": "
	if exists {
		prompt = "New password for " + email + " (Enter keeps the current one): "
	}
	pw, err := ask(prompt)
	if err != nil || pw == "" {
		return pw, err
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	return pw, nil
}

// usersAdd is `segmatch users add`.
func usersAdd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("users", "users.json", "the users `FILE` (created if missing)")
	email := fs.String("email", "", "the user's `EMAIL`, a plain address (required)")
	project := fs.String("project", "", "the `PROJECT_ID` the role applies to (required)")
	roleName := fs.String("role", "agent", "the `ROLE` in the project: guest, user, agent, supervisor, admin or owner")
	typ := fs.String("type", "", "the user's `TYPE`: user, bot or subscription (default: user, or unchanged)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *email == "" || *project == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "segmatch users add: --email and --project are required, and nothing else")
		return exitUsage
	}
	if err := checkEmail(*email); err != nil {
		fmt.Fprintf(stderr, "segmatch users add: %v\n", err)
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

	// The file is read first, so that a broken one fails before the
	// password is asked for, and the prompt knows whether the user exists.
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
	pw, err := readPassword(stdin, stderr, *email, e != nil)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch users add: %v\n", err)
		return exitFailure
	}
	verb := "updated"
	if e == nil {
		if pw == "" {
			fmt.Fprintln(stderr, "segmatch users add: a new user needs a password (typed at the prompt, or the first line of stdin)")
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

// usersList is `segmatch users list`: a table, one line per user and
// project (EMAIL ROLE PROJECT TYPE), sorted by email then project; a
// user without a project has "-" for both. Never the password hash.
func usersList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("users", "users.json", "the users `FILE`")
	project := fs.String("project", "", "list only the users of `PROJECT_ID`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "segmatch users list: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if _, err := os.Stat(*path); err != nil {
		fmt.Fprintf(stderr, "segmatch users list: %v\n", err)
		return exitFailure
	}
	entries, err := auth.ReadEntries(*path)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch users list: %s: %v\n", *path, err)
		return exitFailure
	}
	type row struct{ email, role, project, typ string }
	var rows []row
	for _, e := range entries {
		typ := e.Type
		if typ == "" {
			typ = auth.TypeUser
		}
		if len(e.Roles) == 0 && *project == "" {
			rows = append(rows, row{e.Email, "-", "-", typ})
		}
		for p, r := range e.Roles {
			if *project == "" || p == *project {
				rows = append(rows, row{e.Email, r, p, typ})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := strings.ToLower(rows[i].email), strings.ToLower(rows[j].email)
		if a != b {
			return a < b
		}
		return rows[i].project < rows[j].project
	})
	if len(rows) == 0 {
		if *project != "" {
			fmt.Fprintf(stderr, "no users in project %s in %s\n", *project, *path)
		} else {
			fmt.Fprintf(stderr, "no users in %s\n", *path)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tROLE\tPROJECT\tTYPE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.email, r.role, r.project, r.typ)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "segmatch users list: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// usersRemove is `segmatch users remove`: the user (emails compared
// case-insensitively), or with --project only its role there. An unknown
// user or project is an error; the file is rewritten atomically.
func usersRemove(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("users", "users.json", "the users `FILE`")
	email := fs.String("email", "", "the user's `EMAIL` (required)")
	project := fs.String("project", "", "remove only the user's role in `PROJECT_ID` (default: the whole user)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *email == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "segmatch users remove: --email is required, and nothing else")
		return exitUsage
	}
	if _, err := os.Stat(*path); err != nil {
		fmt.Fprintf(stderr, "segmatch users remove: %v\n", err)
		return exitFailure
	}
	entries, err := auth.ReadEntries(*path)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch users remove: %s: %v\n", *path, err)
		return exitFailure
	}
	at := -1
	for i := range entries {
		if strings.EqualFold(entries[i].Email, *email) {
			at = i
		}
	}
	if at < 0 {
		fmt.Fprintf(stderr, "segmatch users remove: %s has no user %s; nothing changed (see segmatch users list --users %s)\n", *path, *email, *path)
		return exitFailure
	}
	e := entries[at]
	var done string
	if *project != "" {
		if _, ok := e.Roles[*project]; !ok {
			projects := slices.Sorted(maps.Keys(e.Roles))
			has := "no project"
			if len(projects) > 0 {
				has = "projects " + strings.Join(projects, ", ")
			}
			fmt.Fprintf(stderr, "segmatch users remove: user %s has no role in project %s (it has %s); nothing changed\n", e.Email, *project, has)
			return exitFailure
		}
		delete(entries[at].Roles, *project)
		done = fmt.Sprintf("removed user %s (%s) from project %s", e.ID, e.Email, *project)
		if len(entries[at].Roles) == 0 {
			done += fmt.Sprintf("; it has no project left (segmatch users remove --email %s deletes it)", e.Email)
		}
	} else {
		entries = slices.Delete(entries, at, at+1)
		done = fmt.Sprintf("removed user %s (%s)", e.ID, e.Email)
	}
	if err := auth.WriteEntries(*path, entries); err != nil {
		fmt.Fprintf(stderr, "segmatch users remove: writing %s: %v\n", *path, err)
		return exitFailure
	}
	fmt.Fprintln(stdout, done+" (a running server reads it on SIGHUP)")
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
