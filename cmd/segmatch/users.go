package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"

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
	fmt.Fprintf(stdout, "%s user %s (%s): %s in project %s\n", verb, id, *email, role, *project)
	return exitOK
}
