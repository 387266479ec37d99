package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/sqlgen"
)

const sqlUsage = `Usage: segmatch sql --segments FILE [--column doc] [--now RFC3339]

Print, for each segment of FILE (a JSON array, JSON Lines or one object),
the PostgreSQL WHERE clause over a jsonb column that selects its contacts,
and its parameters ($1, $2, ... as JSON). The clauses call the segmatch_*
helper functions that "segmatch classify --pg" installs (sqlgen.Install).
A segment that cannot be pushed down (expr) is reported as a comment, and
the exit code is then 1.

Flags:
`

func sqlCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	segFile := fs.String("segments", "", "segments `FILE` (required)")
	column := fs.String("column", "doc", "the jsonb `COLUMN` holding the contact")
	nowFlag := fs.String("now", "", "fix the clock of relative dates (`RFC3339`); default: now")
	fs.Usage = func() { fmt.Fprint(stderr, sqlUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *segFile == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	now, err := parseNowFlag(*nowFlag)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch sql: %v\n", err)
		return exitUsage
	}
	segs, err := readSegmentsFile(*segFile)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch sql: %v\n", err)
		return exitFailure
	}
	code := exitOK
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

func parseNowFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--now %q: want RFC 3339", s)
	}
	return t, nil
}

// readSegmentsFile reads a JSON array of segments, one segment object, or
// JSON Lines.
func readSegmentsFile(file string) ([]filter.Segment, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	var segs []filter.Segment
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &segs); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return segs, nil
	}
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var seg filter.Segment
		if err := json.Unmarshal(line, &seg); err != nil {
			// Maybe one (multi-line) object.
			var one filter.Segment
			if err2 := json.Unmarshal(trimmed, &one); err2 == nil {
				return []filter.Segment{one}, nil
			}
			return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
		}
		segs = append(segs, seg)
	}
	return segs, nil
}
