package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/sqlgen"
)

const classifyPGUsage = `Usage: segmatch classify --pg DSN --table T [--column doc] --segments FILE [--project P] [--now RFC3339]

Classify the contacts stored in PostgreSQL, in the database: each segment
becomes a WHERE-style predicate (see "segmatch sql") and one query reads
every row of T once, answering for all segments. The segmatch_* helper
functions are installed (CREATE OR REPLACE) first. One JSON line a row, in
the table's physical order:
{"line": N, "id": <lead_id, _id or id>, "segments": [segment ids]}.
A segment that cannot be pushed down (expr) is an error (exit 1).

Flags:
`

func classifyPG(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("pg", "", "PostgreSQL `DSN` (URL or key=value)")
	table := fs.String("table", "", "the `TABLE` of contacts (schema.table allowed)")
	column := fs.String("column", "doc", "the jsonb `COLUMN` holding the contact")
	sf := addSegmentFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, classifyPGUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *dsn == "" || *table == "" || *sf.file == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	set, now, code, ok := sf.load("classify", stderr)
	if !ok {
		return code
	}
	segs := set.segments()
	// One column per segment, parameters numbered across all of them.
	var cols []string
	var params []any
	keys := make([]string, len(segs))
	for i, seg := range segs {
		keys[i] = seg.Key()
		clause, p, err := sqlgen.Where(seg, *column, sqlgen.WithNow(now), sqlgen.WithFirstParam(len(params)))
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: segment %s: %v\n", seg.Key(), err)
			return exitFailure
		}
		cols = append(cols, "COALESCE("+clause+", false)")
		params = append(params, p...)
	}
	col := pgx.Identifier{*column}.Sanitize()
	ident := pgx.Identifier(strings.Split(*table, ".")).Sanitize()
	// the id as classify reads it (contactID): the first of lead_id, _id
	// and id that is a string or a number
	var ids []string
	for _, k := range []string{"lead_id", "_id", "id"} {
		ids = append(ids, fmt.Sprintf("CASE WHEN jsonb_typeof(%[1]s->'%[2]s') IN ('string', 'number') THEN %[1]s->'%[2]s' END", col, k))
	}
	query := "SELECT COALESCE(" + strings.Join(ids, ", ") + ")::text"
	if len(cols) > 0 {
		query += ", " + strings.Join(cols, ", ")
	}
	query += " FROM " + ident

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	defer conn.Close(ctx)
	if err := sqlgen.Install(ctx, conn); err != nil {
		fmt.Fprintf(stderr, "segmatch classify: installing the helper functions: %v\n", err)
		return exitFailure
	}
	_, _ = conn.Exec(ctx, "SET jit = off") // JIT costs more than it saves on these predicates
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	defer rows.Close()
	w := bufio.NewWriter(stdout)
	line := 0
	dest := make([]any, 1+len(segs))
	var id *string
	flags := make([]bool, len(segs))
	dest[0] = &id
	for i := range flags {
		dest[i+1] = &flags[i]
	}
	for rows.Next() {
		line++
		if err := rows.Scan(dest...); err != nil {
			fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
			return exitFailure
		}
		out := struct {
			Line     int             `json:"line"`
			ID       json.RawMessage `json:"id,omitempty"`
			Segments []string        `json:"segments"`
		}{Line: line, Segments: []string{}}
		if id != nil {
			out.ID = json.RawMessage(*id)
		}
		for i, ok := range flags {
			if ok {
				out.Segments = append(out.Segments, keys[i])
			}
		}
		b, _ := json.Marshal(out)
		w.Write(b)
		w.WriteByte('\n') // a write error sticks: Flush reports it
	}
	if err := rows.Err(); err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "segmatch classify: writing: %v\n", err)
		return exitFailure
	}
	return exitOK
}
