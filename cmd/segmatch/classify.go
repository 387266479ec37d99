package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/tidwall/gjson"
)

// since measures the elapsed time of the summary; tests fix it.
var since = time.Since

// classify reads contacts as JSON Lines and writes, for each, one JSON
// line with the keys of the segments it is in, in the segments file's
// order. It evaluates each segment with Program.MatchJSON (the engine
// will take over later).
//
// A bad contact line stops the run with its line number and reason
// (exit 1), or with --skip-bad is reported on stderr, counted, and the
// run goes on, ending with exit 3 so that a skipped line is never lost
// silently. Blank lines are not contacts and are passed over.
func classify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	segFile := fs.String("segments", "", "segments `FILE`: a JSON array of segments, or JSON Lines (required)")
	nowFlag := fs.String("now", "", "fix the clock of relative dates (`RFC3339`); default: the time the run starts")
	skipBad := fs.Bool("skip-bad", false, "report bad contact lines on stderr and go on (exit 3 at the end)")
	workers := fs.Int("workers", 0, "classify on `N` goroutines (default: all cores)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: segmatch classify --segments FILE [--now RFC3339] [--skip-bad] [--workers N] [CONTACTS.jsonl|-]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if *segFile == "" {
		fmt.Fprintln(stderr, "segmatch classify: --segments is required")
		fs.Usage()
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "segmatch classify: one contacts file at most, got %d\n", fs.NArg())
		return exitUsage
	}

	// One "now" for the whole run, so that a batch is consistent
	// (SEMANTICS rule 6).
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: --now %q: want an RFC 3339 time such as 2026-11-28T10:00:00Z\n", *nowFlag)
			return exitUsage
		}
		now = t
	}
	clock := func() time.Time { return now }

	set, err := loadSegments(*segFile, clock)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}
	if len(set.problems) > 0 {
		for _, p := range set.problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "segmatch classify: %s in %s; run `segmatch validate %s`\n", plural(len(set.problems), "problem"), *segFile, *segFile)
		return exitFailure
	}

	in, name := stdin, "stdin"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		in, name = f, fs.Arg(0)
	}

	segs := make([]filter.Segment, len(set.entries))
	for i, e := range set.entries {
		segs[i] = e.seg
	}
	eng, err := engine.New(segs, segmatch.WithNow(clock))
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitFailure
	}

	start := time.Now()
	out := bufio.NewWriterSize(stdout, 64<<10)
	var contacts, skipped int
	var ids []string
	var stop error
	fail := func(code int, format string, a ...any) int {
		out.Flush()
		fmt.Fprintf(stderr, format, a...)
		summary(stderr, contacts, skipped, len(set.entries), since(start))
		return code
	}
	// The engine classifies on every core (--workers) and hands lines back
	// in input order; a bad line stops the run unless --skip-bad.
	_, err = eng.ClassifyStream(context.Background(), in, func(l *engine.Line) error {
		if l.Err != nil {
			if !*skipBad {
				stop = l.Err
				return l.Err
			}
			skipped++
			fmt.Fprintf(stderr, "segmatch classify: %s:%d: skipped: %v\n", name, l.Number, errors.Unwrap(l.Err))
			return nil
		}
		contacts++
		ids = l.Result.AppendIDs(ids[:0])
		writeResult(out, l.Number, contactID(l.Raw), ids)
		return nil
	}, engine.StreamOptions{Workers: *workers})
	var le *engine.LineError
	if errors.As(stop, &le) {
		return fail(exitFailure, "segmatch classify: %s:%d: %v\n", name, le.Line, le.Err)
	}
	if err != nil {
		return fail(exitFailure, "segmatch classify: %s: %v\n", name, err)
	}
	if err := out.Flush(); err != nil {
		return fail(exitFailure, "segmatch classify: writing results: %v\n", err)
	}
	summary(stderr, contacts, skipped, len(set.entries), since(start))
	if skipped > 0 {
		return exitSkipped
	}
	return exitOK
}

func summary(w io.Writer, contacts, skipped, segments int, elapsed time.Duration) {
	fmt.Fprintf(w, "segmatch classify: %s, %s skipped, %s, elapsed %v\n",
		plural(contacts, "contact"), plural(skipped, "bad line"), plural(segments, "segment"), elapsed.Round(time.Millisecond))
}

// contactID is the raw JSON of the contact's id: lead_id, else _id, else
// id, the first that is a string or a number; nil when there is none.
func contactID(line []byte) []byte {
	for _, k := range []string{"lead_id", "_id", "id"} {
		v := gjson.GetBytes(line, k)
		if v.Type == gjson.String || v.Type == gjson.Number {
			return []byte(v.Raw)
		}
	}
	return nil
}

// writeResult writes {"line":N,"id":...,"segments":[...]} and a newline.
func writeResult(w *bufio.Writer, line int, id []byte, keys []string) {
	var b [20]byte
	w.WriteString(`{"line":`)
	w.Write(strconv.AppendInt(b[:0], int64(line), 10))
	if id != nil {
		w.WriteString(`,"id":`)
		w.Write(id)
	}
	w.WriteString(`,"segments":[`)
	for i, k := range keys {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(quote(k))
	}
	w.WriteString("]}\n")
}

// quote encodes a segment key as a JSON string, leaving <, > and &
// as they are.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a key comes from a decoded segment: valid UTF-8, always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}
