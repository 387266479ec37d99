package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/segmatch/segmatch/mongogen"
)

const mongoUsage = `Usage: segmatch mongo --segments FILE [--project P] [--now RFC3339] [--ferretdb]

Print, for each segment of FILE (a JSON array, JSON Lines, one object, or
the store's data file with --project), the MongoDB filter document that
selects its candidates, one JSON line a segment:
{"segment": ID, "name": NAME, "exact": BOOL, "filter": {...}}
with the filter in relaxed extended JSON (dates as {"$date": ...}), for
db.leads.find(FILTER). Every member of the segment matches the filter;
when exact is false the filter is looser (numeric strings, dates stored
as strings, SemVer, CIDR, expr, fan-out paths) and each document it
returns must be rechecked with the segment (segmatch classify --mongo
does, and so does the Go package mongogen/mongorun). Every segment must
compile first (segmatch validate lists what is wrong).

--ferretdb writes filters FerretDB v1 evaluates as MongoDB does (no
$elemMatch on field conditions, no $type names it lacks).

Flags:
`

func mongoCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mongo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addSegmentFlags(fs)
	ferret := fs.Bool("ferretdb", false, "filters for FerretDB v1 (see above)")
	fs.Usage = func() { fmt.Fprint(stderr, mongoUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *sf.file == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	set, now, code, ok := sf.load("mongo", stderr)
	if !ok {
		return code
	}
	opts := []mongogen.Option{mongogen.WithNow(now)}
	if *ferret {
		opts = append(opts, mongogen.FerretDB())
	}
	for _, seg := range set.segments() {
		q, err := mongogen.Compile(seg, opts...)
		if err != nil {
			fmt.Fprintf(stderr, "segmatch mongo: segment %s: %v\n", seg.Key(), err)
			return exitFailure
		}
		fj, err := bson.MarshalExtJSON(q.Filter, false, false)
		if err != nil {
			fmt.Fprintf(stderr, "segmatch mongo: segment %s: %v\n", seg.Key(), err)
			return exitFailure
		}
		line, _ := json.Marshal(struct {
			Segment string          `json:"segment"`
			Name    string          `json:"name,omitempty"`
			Exact   bool            `json:"exact"`
			Filter  json.RawMessage `json:"filter"`
		}{seg.Key(), seg.Name, q.Exact, fj})
		fmt.Fprintf(stdout, "%s\n", line)
	}
	return exitOK
}
