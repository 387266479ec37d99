package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unsafe"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// since measures the elapsed time of the summary; tests fix it.
var since = time.Since

const classifyUsage = `usage: segmatch classify --segments FILE [--project P] [--format jsonl|csv|counts]
                         [--now RFC3339] [--skip-bad] [--workers N] [--max-line SIZE]
                         [CONTACTS.jsonl|-]

Classifies contacts (JSON Lines, one object a line; stdin when the file is
"-" or absent) against the segments of FILE: a JSON array of segments,
JSON Lines, or the store's data file (segmatch serve --data FILE) with
--project naming whose active segments to use (oldest first). Results
come in input order:

  jsonl   one line a contact: {"line": N, "id": ID, "segments": [segment ids]}
          (ID: the contact's lead_id, _id or id; left out when it has none)
  csv     a spreadsheet: header line,id,<segment>..., then one row a contact
          with 1 or 0 under each segment (filter a column, or sum it); a
          segment's column is headed by its name, or by its id when the
          name is empty or used twice
  counts  at the end, a tab-separated table: segment_id, name, contacts
          (how many contacts are in the segment), in the segments' order

A progress bar (lines, bytes, rate, ETA) is drawn on stderr when stderr is
a terminal, never on a pipe or a file. A summary ends stderr: contacts, bad
lines, elapsed time, contacts/s, and the contacts of each segment.

A bad contact line stops the run with its line number and reason (exit 1);
with --skip-bad it is reported, counted and skipped, and the exit code is 3.
A byte offset in the reason counts from the start of the line, from 0. A
line longer than --max-line (default 16MiB) is a bad line, never truncated.

Flags:
`

// classify reads contacts as JSON Lines and writes, for each, the
// segments it is in (in the segments file's order), as --format says.
//
// A bad contact line stops the run with its line number and reason
// (exit 1), or with --skip-bad is reported on stderr, counted, and the
// run goes on, ending with exit 3 so that a skipped line is never lost
// silently. Blank lines are not contacts and are passed over.
func classify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	segFile := fs.String("segments", "", "segments `FILE`: a JSON array of segments, JSON Lines, or the store's data file (with --project) (required)")
	project := fs.String("project", "", "the `PROJECT_ID` whose segments to read when --segments is the store's data file")
	format := fs.String("format", formatJSONL, "output `FORMAT`: jsonl, csv or counts")
	nowFlag := fs.String("now", "", "fix the clock of relative dates (`RFC3339`); default: the time the run starts")
	skipBad := fs.Bool("skip-bad", false, "report bad contact lines on stderr and go on (exit 3 at the end)")
	workers := fs.Int("workers", 0, "classify on `N` goroutines (default: all cores)")
	maxLine := defaultMaxLine
	fs.Var(&maxLine, "max-line", "a contact line longer than `SIZE` bytes (suffix KiB, MiB or GiB; at most 1GiB) is a bad line, reported, never truncated")
	fs.Usage = func() {
		fmt.Fprint(stderr, classifyUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *segFile == "" {
		fmt.Fprintln(stderr, "segmatch classify: --segments is required (segmatch classify -h for help)")
		return exitUsage
	}
	if maxLine < 1 || maxLine > maxMaxLine {
		fmt.Fprintf(stderr, "segmatch classify: --max-line %v: want 1 byte to %v\n", &maxLine, ptr(maxMaxLine))
		return exitUsage
	}
	if *workers < 0 || *workers > engine.MaxWorkers {
		fmt.Fprintf(stderr, "segmatch classify: --workers %d: want 1 to %d (0: one per core)\n", *workers, engine.MaxWorkers)
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "segmatch classify: one contacts file at most, got %d\n", fs.NArg())
		return exitUsage
	}
	switch *format {
	case formatJSONL, formatCSV, formatCounts:
	default:
		fmt.Fprintf(stderr, "segmatch classify: --format %q: want jsonl, csv or counts\n", *format)
		return exitUsage
	}

	// One "now" for the whole run, so that a batch is consistent
	// (docs/semantics.md rule 6).
	now, err := parseNowFlag(*nowFlag)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitUsage
	}
	clock := func() time.Time { return now }

	// The engine compiles the segments; each is compiled alone only when
	// it refuses one, to report every problem as validate does.
	set, ok := loadChecked("classify", *segFile, *project, clock, decodeOnly, io.Discard)
	if !ok {
		loadForRun("classify", *segFile, *project, clock, stderr) // every problem
		return exitFailure
	}

	in, name, size := stdin, "stdin", inputSize(stdin)
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		in, name, size = f, fs.Arg(0), inputSize(f)
	}

	// the engine reads the id members in its pass (capturedID)
	eng, err := engine.New(set.segments(), segmatch.WithNow(clock), segmatch.WithCapture(idKeys[:]...))
	if err != nil {
		if _, ok := loadForRun("classify", *segFile, *project, clock, stderr); ok {
			fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		}
		return exitFailure
	}
	info := make([]segmentInfo, len(set.entries))
	for i, key := range eng.IDs() {
		info[i] = segmentInfo{key: key, name: set.entries[i].name}
	}

	start := time.Now()
	out := bufio.NewWriterSize(stdout, flushAt)
	results, err := newResultWriter(*format, out, info)
	if err != nil { // the format was checked above
		fmt.Fprintf(stderr, "segmatch classify: %v\n", err)
		return exitUsage
	}
	bar := newProgress(stderr, size)
	sum := runSummary{segments: info, counts: make([]int64, len(info))}
	tally := newTally(sum.counts)
	counter, counted := results.(countingWriter) // counts as it writes
	if counted {
		counter.countWith(tally)
	}
	end := func(code int, complete bool, format string, a ...any) int {
		tally.flush()
		bar.clear()
		err := results.finish(sum.counts, complete)
		if err == nil {
			err = out.Flush()
		}
		if format != "" {
			fmt.Fprintf(stderr, format, a...)
		}
		if err != nil {
			fmt.Fprintf(stderr, "segmatch classify: writing results: %v\n", err)
			code = exitFailure
		}
		sum.elapsed = since(start)
		sum.write(stderr)
		return code
	}

	// The engine classifies on every core (--workers) and hands lines back
	// in input order; a bad line stops the run unless --skip-bad.
	var stop error
	_, err = eng.ClassifyStream(context.Background(), in, func(l *engine.Line) error {
		if l.Err != nil {
			sum.bad++
			if !*skipBad {
				stop = l.Err
				return l.Err
			}
			sum.skipped++
			bar.printf(stderr, "segmatch classify: %s:%d: skipped: %s\n", name, l.Number, badLine(errors.Unwrap(l.Err), maxLine))
			return nil
		}
		sum.contacts++
		if !counted {
			tally.add(l.Result.Matches)
		}
		results.contact(l.Number, capturedID(l.Result), l.Result.Matches)
		return nil
	}, engine.StreamOptions{Workers: *workers, MaxLineBytes: int(maxLine), Progress: bar.update})
	var le *engine.LineError
	switch {
	case errors.As(stop, &le):
		return end(exitFailure, false, "segmatch classify: %s:%d: %s\n", name, le.Line, badLine(le.Err, maxLine))
	case err != nil:
		return end(exitFailure, false, "segmatch classify: %s: %v\n", name, err)
	case sum.skipped > 0:
		return end(exitSkipped, true, "")
	}
	return end(exitOK, true, "")
}

// badLine words why a contact line is bad: lineReason, and for a line
// over --max-line the bound it broke.
func ptr[T any](v T) *T { return &v }

func badLine(err error, maxLine byteSize) string {
	if errors.Is(err, engine.ErrLineTooLong) {
		return fmt.Sprintf("%v (over --max-line %v)", err, &maxLine)
	}
	return lineReason(err)
}

// lineReason is err's text, saying of a byte offset into a contact line
// that it counts from the line's start ("malformed JSON at byte 33 of
// the line (from 0 at its start)"), not from the file's.
func lineReason(err error) string {
	msg := err.Error()
	var se *rawjson.SyntaxError
	if errors.As(err, &se) {
		at := fmt.Sprintf("at byte %d", se.Offset)
		if i := strings.Index(msg, se.Error()); i >= 0 {
			if j := strings.Index(msg[i:], at); j >= 0 {
				k := i + j + len(at)
				msg = msg[:k] + " of the line (from 0 at its start)" + msg[k:]
			}
		}
	}
	return msg
}

// defaultMaxLine is --max-line's default, the engine's.
const defaultMaxLine byteSize = 16 << 20

// maxMaxLine bounds --max-line: a line is held whole in memory.
const maxMaxLine byteSize = 1 << 30

// inputSize is the size of a regular file, for the progress bar's ETA;
// -1 for anything else (a pipe, a terminal, a test's reader).
func inputSize(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok {
		return -1
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	return fi.Size()
}

// validateArgs is the validate command line for a segments source.
func validateArgs(file, project string) string {
	if project != "" {
		return "--project " + project + " " + file
	}
	return file
}

// runSummary is what classify tells on stderr at the end.
type runSummary struct {
	contacts, bad, skipped int64
	segments               []segmentInfo
	counts                 []int64 // contacts per segment
	elapsed                time.Duration
}

// write prints the summary line, then one line a segment: its contacts,
// key and name.
//
//	segmatch classify: 6 contacts, 0 bad lines, 4 segments in 1.234s (5 contacts/s); contacts per segment:
//	     2  65f1c0ffee0000000000c001  Italian VIPs
func (s *runSummary) write(w io.Writer) {
	bad := plural(int(s.bad), "bad line")
	if s.skipped > 0 {
		bad += " skipped"
	}
	rate := ""
	if secs := s.elapsed.Seconds(); secs > 0 {
		rate = fmt.Sprintf(" (%.0f contacts/s)", float64(s.contacts)/secs)
	}
	fmt.Fprintf(w, "segmatch classify: %s, %s, %s in %v%s; contacts per segment:\n",
		plural(int(s.contacts), "contact"), bad, plural(len(s.segments), "segment"), s.elapsed.Round(time.Millisecond), rate)
	width := len(fmt.Sprint(s.contacts))
	for i, seg := range s.segments {
		name := ""
		if seg.name != "" && seg.name != seg.key {
			name = "  " + cell(seg.name)
		}
		fmt.Fprintf(w, "  %*d  %s%s\n", width, s.counts[i], cell(seg.key), name)
	}
}

// tally counts the contacts of each segment, eight segments an addition:
// acc holds, in byte k of word j, the contacts of segment 8j+k since the
// last flush into counts, which comes before a byte can overflow.
type tally struct {
	acc    []uint64
	counts []int64
	since  int // contacts since the last flush
}

// countingWriter is a resultWriter that counts the contacts it writes.
type countingWriter interface{ countWith(*tally) }

func newTally(counts []int64) *tally {
	return &tally{acc: make([]uint64, (len(counts)+7)/8), counts: counts}
}

// add counts a contact in the segments it is in (matches[i]: segment i).
func (t *tally) add(matches []bool) {
	for j := range t.acc {
		t.acc[j] += matchWord(matches, 8*j)
	}
	t.added()
}

// added records one contact added to acc (no byte of acc may pass 255):
// a writer that counts as it goes (countWith) adds a contact's
// matchWord(matches, 8*j) to acc[j], then calls added.
func (t *tally) added() {
	if t == nil {
		return
	}
	if t.since++; t.since == 255 {
		t.flush()
	}
}

// flush adds the bytes of acc to counts.
func (t *tally) flush() {
	for j, a := range t.acc {
		for k := 0; a != 0; k++ {
			t.counts[8*j+k] += int64(a & 0xff)
			a >>= 8
		}
		t.acc[j] = 0
	}
	t.since = 0
}

// idKeys are the names of a contact's id, by precedence.
var idKeys = [...]string{"lead_id", "_id", "id"}

// capturedID is the contact's id as contactID (contactid_ref_test.go) reads it (the first member
// of lead_id, else _id, else id, that is a string or a number), from the
// members the engine captured in its own pass (segmatch.WithCapture of
// idKeys) rather than from a second scan of the line. It refers into the
// line: valid during the sink's call.
func capturedID(r *engine.Result) []byte {
	for k := range idKeys {
		raw := r.Captured(k)
		if raw == "" {
			continue
		}
		if c := raw[0]; c == '"' || c == '-' || '0' <= c && c <= '9' {
			return unsafe.Slice(unsafe.StringData(raw), len(raw)) // read only, as the line is
		}
	}
	return nil
}
