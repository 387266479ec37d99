package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tidwall/gjson"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/segmatch/segmatch/mongogen"
	"github.com/segmatch/segmatch/mongogen/mongorun"
)

const classifyMongoUsage = `Usage: segmatch classify --mongo URI --db D --collection C --segments FILE [--project P] [--now RFC3339] [--ferretdb]

Classify the leads stored in a MongoDB collection: each segment becomes a
filter (see "segmatch mongo") that the server answers with the ids of its
candidates; then one pass over the collection, in its natural order,
rechecks each document against the segments it is a candidate of (the
document as mongogen.ContactJSON reads it: ObjectIds as hex strings, BSON
dates as RFC 3339 strings). The output is classify's, in any --format:
by default one JSON line a document, in the collection's natural order,
{"line": N, "id": <lead_id, _id or id>, "segments": [segment ids]}.
The answer is exact for every operator, expr included: what the filter
cannot decide, the recheck does. FerretDB (its buildInfo says so) is
detected, as if --ferretdb were given.

Flags:
`

func classifyMongo(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("mongo", "", "MongoDB connection `URI` (mongodb://...)")
	dbName := fs.String("db", "", "the `DATABASE`")
	collName := fs.String("collection", "", "the `COLLECTION` of leads")
	sf := addSegmentFlags(fs)
	ferret := fs.Bool("ferretdb", false, "filters for FerretDB v1 (detected when the server is FerretDB)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after `DURATION`")
	format := fs.String("format", formatJSONL, "output `FORMAT`: jsonl, csv or counts (as classify)")
	fs.Usage = func() { fmt.Fprint(stderr, classifyMongoUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *uri == "" || *dbName == "" || *collName == "" || *sf.file == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	if _, err := newResultWriter(*format, bufio.NewWriter(io.Discard), nil); err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitUsage
	}
	set, now, code, ok := sf.load("classify", stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(*uri))
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	defer client.Disconnect(context.Background())
	db := client.Database(*dbName)
	if !*ferret {
		var info bson.M
		if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
			fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
			return exitFailure
		}
		_, *ferret = info["ferretdbVersion"]
	}
	coll := db.Collection(*collName)
	opts := []mongogen.Option{mongogen.WithNow(now)}
	if *ferret {
		opts = append(opts, mongogen.FerretDB())
	}
	segs := set.segments()
	queries := make([]*mongogen.Query, len(segs))
	cands := make([]map[string]bool, len(segs)) // nil: every document (the filter is {})
	for i, seg := range segs {
		q, err := mongogen.Compile(seg, opts...)
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: segment %s: %v\n", seg.Key(), err)
			return exitFailure
		}
		queries[i] = q
		if len(q.Filter) == 0 {
			continue
		}
		if cands[i], err = mongorun.Candidates(ctx, coll, q); err != nil {
			fmt.Fprintf(stderr, "segmatch classify: segment %s: %v\n", seg.Key(), err)
			return exitFailure
		}
	}
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	defer cur.Close(ctx)
	// classify's writers and counts: the same output, whatever the format
	info := make([]segmentInfo, len(segs))
	for i, seg := range segs {
		info[i] = segmentInfo{key: seg.Key(), name: set.entries[i].name}
	}
	w := bufio.NewWriterSize(stdout, flushAt)
	results, _ := newResultWriter(*format, w, info) // the format was checked above
	counts := make([]int64, len(segs))
	tl := newTally(counts)
	if cw, ok := results.(countingWriter); ok {
		cw.countWith(tl)
	} else {
		tl = nil
	}
	matches := make([]bool, len(segs))
	line := 0
	for cur.Next(ctx) {
		line++
		contact, err := mongogen.ContactJSON(cur.Current)
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: document %d: %v\n", line, err)
			return exitFailure
		}
		key := mongorun.IDKey(cur.Current.Lookup("_id"))
		for i, q := range queries {
			matches[i] = false
			if cands[i] != nil && !cands[i][key] {
				continue
			}
			ok, err := q.Recheck(contact)
			if err != nil {
				fmt.Fprintf(stderr, "segmatch classify: document %d: %v\n", line, err)
				return exitFailure
			}
			matches[i] = ok
		}
		if tl == nil {
			for i, m := range matches {
				if m {
					counts[i]++
				}
			}
		}
		results.contact(line, leadID(contact), matches)
	}
	if err := cur.Err(); err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	if tl != nil {
		tl.flush()
	}
	err = results.finish(counts, true)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: writing: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// leadID is the contact's id as classify reads it: the first of lead_id,
// _id and id that is a string or a number (raw JSON), else nil.
func leadID(contact []byte) json.RawMessage {
	for _, k := range idKeys {
		r := gjson.GetBytes(contact, gjson.Escape(k))
		if r.Type == gjson.String || r.Type == gjson.Number {
			return json.RawMessage(r.Raw)
		}
	}
	return nil
}
