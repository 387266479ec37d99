package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Exit codes shared by the subcommands.
const (
	exitOK      = 0 // success
	exitFailure = 1 // a problem in the input (bad segment, bad contact line, I/O)
	exitUsage   = 2 // bad command line
	exitSkipped = 3 // classify --skip-bad finished but skipped bad lines
)

const usage = `segmatch: marketing segments over JSON contacts

Usage:
  segmatch classify --segments FILE [--project P] [--format jsonl|csv|counts]
                    [--now RFC3339] [--skip-bad] [--workers N] [CONTACTS.jsonl|-]
      Classify contacts (JSON Lines, one object a line; stdin when the file
      is "-" or absent) with the engine on every core, in input order:
      jsonl (default) one line a contact,
        {"line": N, "id": <lead_id, _id or id>, "segments": [segment ids]};
      csv a header line,id,<segment name>... and a row a contact with 1/0
        under each segment; counts a table segment_id<TAB>name<TAB>contacts.
      Progress bar on stderr when it is a terminal; a summary at the end.
      More: segmatch classify -h.
  segmatch validate [--project P] [--no-cost-warnings] FILE...
      Compile every segment and print every problem with its JSON Pointer;
      warn on stderr about segments costly to evaluate (exit code unchanged).
  segmatch explain --segments FILE --segment ID [--format text|json] [CONTACT.json|-]
      Why a contact is (not) in a segment: every group and condition with
      its result and what the contact holds at its field.
      More: segmatch explain -h.
  segmatch audience --segments FILE [--members ID | --query SEGMENT.json |
                    --changes NEW.jsonl] [--limit N] [--now RFC3339] [CONTACTS.jsonl|-]
      Load contacts into an in-memory audience index with the segments
      registered: each segment's members (a table), one segment's member
      ids, an ad-hoc segment's, or the enter/exit events of a file of
      changes (JSON Lines). Load time and index memory on stderr.
      More: segmatch audience -h.
  segmatch sql --segments FILE [--project P] [--column doc] [--now RFC3339]
  segmatch sql --ddl
      Print each segment as a PostgreSQL WHERE clause over a jsonb column,
      with its parameters; --ddl prints the segmatch_* helper functions the
      clauses call (what classify --pg installs), to run with psql.
      More: segmatch sql -h.
  segmatch mongo --segments FILE [--project P] [--now RFC3339] [--ferretdb]
      Print each segment as a MongoDB filter (extended JSON, a line a
      segment); classify --mongo URI --db D --collection C runs them on a
      collection and rechecks the candidates. More: segmatch mongo -h.
  segmatch serve --addr 127.0.0.1:8080 --data segmatch.db --users users.json
      Serve the Tiledesk segments REST API on the embedded store.
  segmatch users add --users FILE --email E --project P --role R
  segmatch users list --users FILE [--project P]
  segmatch users remove --users FILE --email E [--project P]
      Add or update a user (the password typed without echo on a terminal,
      else the first line of stdin), list the users (email, role, project,
      type; never a hash), remove a user or its role in a project.
  segmatch worker --nats URL --stream NAME --pg DSN [--project P[,P...]]
      Classify contact changes from NATS JetStream continuously, keeping
      segment membership in PostgreSQL and publishing enter/exit events.
      More: segmatch worker -h.
  segmatch publish --nats URL --stream NAME --project P [CONTACTS.jsonl|-]
      Publish contact changes (JSON Lines) to the stream, deduplicated.
  segmatch bench [--segments N] [--contacts N] [--sweep segments=10,100,1000] [--out DIR]
      Time the engine against the other backends on a generated workload.
      More: segmatch bench -h.
  segmatch version (or --version)
      Print the version, the commit it was built from and the Go version.
  segmatch help
      Print this help.

A segments FILE is a JSON array of segments, or JSON Lines (one segment a
line), or a single segment object, or the store's data file (serve --data)
with --project P choosing whose active segments.

Exit codes: 0 success; 1 a problem in the input; 2 bad usage;
3 classify --skip-bad skipped bad lines. Flags may come before or after
the files; after "--" every argument is a file.
`

// run dispatches to a subcommand.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "classify":
		if usesFlag(args[1:], "pg") {
			return classifyPG(args[1:], stdin, stdout, stderr)
		}
		if usesFlag(args[1:], "mongo") {
			return classifyMongo(args[1:], stdin, stdout, stderr)
		}
		return classify(args[1:], stdin, stdout, stderr)
	case "sql":
		return sqlCmd(args[1:], stdin, stdout, stderr)
	case "mongo":
		return mongoCmd(args[1:], stdin, stdout, stderr)
	case "bench":
		return bench(args[1:], stdin, stdout, stderr)
	case "validate":
		return validate(args[1:], stdin, stdout, stderr)
	case "explain":
		return explain(args[1:], stdin, stdout, stderr)
	case "audience":
		return audienceCmd(args[1:], stdin, stdout, stderr)
	case "serve":
		return serve(args[1:], stdin, stdout, stderr)
	case "users":
		return users(args[1:], stdin, stdout, stderr)
	case "worker":
		return workerCmd(args[1:], stdin, stdout, stderr)
	case "publish":
		return publishCmd(args[1:], stdin, stdout, stderr)
	case "version", "-version", "--version":
		return version(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "segmatch: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// parseFlags parses a subcommand's flags; when it returns false, the
// command ends with code (-h: success, a bad flag: usage, which the flag
// package has already explained).
//
// Flags may come after the positional arguments (`classify leads.jsonl
// --segments s.json`): interspersed moves them in front first.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

// interspersed reorders args so that the flag package, which stops at the
// first positional argument, sees every flag: the flags (with the value of
// each that takes one, -f V as well as -f=V) in their order, then "--" and
// the positionals in theirs. Everything after a "--" stays positional, and
// so does "-" (stdin). An unknown flag is kept among the flags for Parse to
// report; a boolean flag takes no separate value (-x=false does).
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimPrefix(a[1:], "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}

// parseNowFlag reads --now: the one clock reading of a run (docs/semantics.md
// rule 6); empty means the time the run starts.
func parseNowFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--now %q: want an RFC 3339 time such as 2026-11-28T10:00:00Z", s)
	}
	return t, nil
}

// version prints what the binary's build info says of it (versionText).
func version(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "segmatch version: unexpected argument %q\n", args[0])
		return exitUsage
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(bi))
	return exitOK
}

// versionText is the module version ("(devel)" for a build from a
// checkout: Go stamps a version only from a module download or, with
// VCS stamping on, from the tag and commit), the VCS commit, its time
// and whether the tree had changes, when the build recorded them
// (go build -buildvcs=true; GOFLAGS may turn it off), and the Go
// version. bi may be nil (no build info).
func versionText(bi *debug.BuildInfo) string {
	v, rev, at, modified := "(unknown)", "", "", false
	goVersion := runtime.Version()
	if bi != nil {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "segmatch %s\n", v)
	if rev != "" {
		if modified {
			rev += " (with uncommitted changes)"
		}
		fmt.Fprintf(&b, "commit   %s\n", rev)
	}
	if at != "" {
		fmt.Fprintf(&b, "date     %s\n", at)
	}
	fmt.Fprintf(&b, "go       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
