package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/segmatch/segmatch/sqlgen"
)

const sqlUsage = `Usage: segmatch sql --segments FILE [--project P] [--column doc] [--now RFC3339]
       segmatch sql --ddl

Print, for each segment of FILE (a JSON array, JSON Lines, one object, or
the store's data file with --project), the PostgreSQL WHERE clause over a
jsonb column that selects its contacts, and its parameters ($1, $2, ... as
JSON). Every segment must compile first (segmatch validate lists what is
wrong). The clauses call the segmatch_*
helper functions that "segmatch classify --pg" installs (sqlgen.Install).
A segment that cannot be pushed down (expr) is reported as a comment, and
the exit code is then 1.

With --ddl it prints instead the SQL that creates (CREATE OR REPLACE) those
helper functions, exactly what classify --pg runs: install them once with
  segmatch sql --ddl | psql "$DSN"

Flags:
`

// ddlHeader opens sql --ddl's output.
const ddlHeader = `-- The segmatch_* helper functions that segmatch's WHERE clauses call:
-- what segmatch classify --pg installs (sqlgen.InstallSQL). Idempotent
-- (CREATE OR REPLACE FUNCTION); the database must use the UTF8 encoding.
`

func sqlCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addSegmentFlags(fs)
	column := fs.String("column", "doc", "the jsonb `COLUMN` holding the contact")
	ddl := fs.Bool("ddl", false, "print the helper functions the clauses call (sqlgen.InstallSQL), not clauses")
	fs.Usage = func() { fmt.Fprint(stderr, sqlUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *ddl {
		if *sf.file != "" || *sf.project != "" || fs.NArg() > 0 {
			fmt.Fprintln(stderr, "segmatch sql: --ddl prints the helper functions alone: no --segments, --project or files")
			return exitUsage
		}
		fmt.Fprint(stdout, ddlHeader, strings.TrimRight(sqlgen.InstallSQL(), "\n")+";\n")
		return exitOK
	}
	if *sf.file == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	set, now, code, ok := sf.load("sql", stderr)
	if !ok {
		return code
	}
	segs := set.segments()
	for _, seg := range segs {
		fmt.Fprintf(stdout, "-- segment %s (%s)\n", seg.Key(), seg.Name)
		clause, params, err := sqlgen.Where(seg, *column, sqlgen.WithNow(now))
		if err != nil {
			fmt.Fprintf(stdout, "-- not pushed down: %v\n\n", err)
			code = exitFailure
			continue
		}
		fmt.Fprintf(stdout, "WHERE %s\n", clause)
		for i, p := range params {
			b, _ := json.Marshal(p)
			fmt.Fprintf(stdout, "-- $%d = %s\n", i+1, b)
		}
		fmt.Fprintln(stdout)
	}
	return code
}
