package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/filter"
)

const audienceUsage = `usage: segmatch audience --segments FILE [--project P] [--now RFC3339] [--id-fields LIST]
                         [--members ID | --query SEGMENT.json | --changes NEW.jsonl] [--limit N]
                         [CONTACTS.jsonl|-]

Loads the contacts (JSON Lines, one object a line; stdin when the file is
"-" or absent) into an in-memory audience index (package audience) with the
segments of FILE registered, then answers one question:

  (default)             a tab-separated table on stdout: segment_id, name,
                        members (how many contacts are in the segment), in
                        the segments' order
  --members ID          the ids of a segment's members, one a line, in id
                        order; ID is a segment's id, or its name when no
                        other segment of FILE has it
  --query SEGMENT.json  the ids of an ad-hoc segment's members (the file is
                        one segment document, registered or not; it needs
                        no id or name), one a line, in id order; its count
                        and latency on stderr
  --changes NEW.jsonl   applies a second JSON Lines file of changes, in
                        order, and prints every enter/exit event it causes
                        as JSON Lines: {"contact": ID, "segment": KEY,
                        "entered": true|false}. A change is a contact
                        (added, or replacing the one with its id), or a
                        removal: an object whose "_deleted" is true, such
                        as {"_id": "x", "_deleted": true} (its id read as a
                        contact's; removing an unknown id is a no-op,
                        counted in the summary)

--limit N prints at most the first N ids (0: only the count on stderr).

A contact's id is the first of --id-fields it has as a non-empty string or
a number (default _id, then lead_id, then id: the index's order, which puts
_id before lead_id unlike classify's output); a contact without one is a
bad line. A later line with an id replaces the earlier contact.

stderr gets a progress bar while the contacts load when it is a terminal
(never on a pipe or a file), then the contacts and segments loaded, the
load time, and the index's memory: the contacts' JSON (kept) and what the
index costs beyond it (member bitmaps, field index, ids), a contact.

A bad line (malformed JSON, not an object, no id, too large) stops the run
with its file and line number (exit 1); with --changes, the events of the
lines before it are printed.

Flags:
`

// audienceCmd runs `segmatch audience`: the contacts loaded into an
// audience.Index with the segments registered, then the counts, one
// segment's members, an ad-hoc query or the events of a file of changes.
func audienceCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audience", flag.ContinueOnError)
	fs.SetOutput(stderr)
	segFile := fs.String("segments", "", "segments `FILE`: a JSON array of segments, JSON Lines, or the store's data file (with --project) (required)")
	project := fs.String("project", "", "the `PROJECT_ID` whose segments to read when --segments is the store's data file")
	nowFlag := fs.String("now", "", "fix the clock of relative dates (`RFC3339`); default: the time the run starts")
	idFields := fs.String("id-fields", strings.Join(audience.DefaultIDFields, ","), "the top-level keys a contact's id is read from, the first present wins (comma-separated `LIST`)")
	members := fs.String("members", "", "print the ids of the members of the segment with this `ID` (or name)")
	queryFile := fs.String("query", "", "print the ids of the members of the ad-hoc segment in `SEGMENT.json`")
	changesFile := fs.String("changes", "", "apply the changes of `NEW.jsonl` (\"-\": stdin) and print their enter/exit events")
	limit := fs.Int("limit", -1, "with --members or --query, print at most the first `N` ids (0: none, only the count; -1: all)")
	fs.Usage = func() {
		fmt.Fprint(stderr, audienceUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "segmatch audience: "+format+"\n", a...)
		return code
	}
	modes := 0
	for _, m := range []string{*members, *queryFile, *changesFile} {
		if m != "" {
			modes++
		}
	}
	contactsArg := fs.Arg(0)
	var ids []string
	for _, k := range strings.Split(*idFields, ",") {
		if k = strings.TrimSpace(k); k != "" {
			ids = append(ids, k)
		}
	}
	switch {
	case *segFile == "":
		return fail(exitUsage, "--segments is required (segmatch audience -h for help)")
	case fs.NArg() > 1:
		return fail(exitUsage, "one contacts file at most, got %d", fs.NArg())
	case modes > 1:
		return fail(exitUsage, "--members, --query and --changes exclude each other: give one at most")
	case *limit >= 0 && *members == "" && *queryFile == "":
		return fail(exitUsage, "--limit is for --members and --query")
	case *limit < -1:
		return fail(exitUsage, "--limit %d: want 0 or more", *limit)
	case *changesFile == "-" && (contactsArg == "" || contactsArg == "-"):
		return fail(exitUsage, "--changes - reads stdin, and so do the contacts: give the contacts file")
	case len(ids) == 0:
		return fail(exitUsage, "--id-fields %q: want at least one key", *idFields)
	}
	now, err := parseNowFlag(*nowFlag)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	clock := func() time.Time { return now }

	// Everything that can be refused is, before the contacts load.
	set, ok := loadForRun("audience", *segFile, *project, clock, stderr)
	if !ok {
		return exitFailure
	}
	var memberKey, memberLabel string
	if *members != "" {
		if memberKey, memberLabel, err = set.audienceKey(*members, *segFile, *project); err != nil {
			return fail(exitFailure, "%v", err)
		}
	}
	var query filter.Segment
	if *queryFile != "" {
		if query, ok = loadAudienceQuery(*queryFile, clock, stderr); !ok {
			return exitFailure
		}
	}
	in, name, size := stdin, "stdin", inputSize(stdin)
	if contactsArg != "" && contactsArg != "-" {
		f, err := os.Open(contactsArg)
		if err != nil {
			return fail(exitFailure, "%v", err)
		}
		defer f.Close()
		in, name, size = f, contactsArg, inputSize(f)
	}
	changes, changesName, changesSize := stdin, "stdin", inputSize(stdin)
	if *changesFile != "" && *changesFile != "-" {
		f, err := os.Open(*changesFile)
		if err != nil {
			return fail(exitFailure, "%v", err)
		}
		defer f.Close()
		changes, changesName, changesSize = f, *changesFile, inputSize(f)
	}

	ix := audience.New(audience.Options{IDFields: ids, Now: clock})
	// Segments first: each contact is then classified once by the engine
	// as it loads, rather than every contact scanned again per segment.
	if _, err := ix.SetSegments(set.segments()); err != nil {
		return fail(exitFailure, "%s: %v", *segFile, err)
	}
	start := time.Now()
	bar := newProgress(stderr, size)
	cr := &audienceCounter{r: in, bar: bar}
	n, err := ix.UpsertStream(cr)
	bar.clear()
	if err != nil {
		return fail(exitFailure, "%s", audienceLineProblem(name, err, ids))
	}
	loaded := since(start)
	audienceLoadSummary(stderr, ix, n, name, loaded)

	out := bufio.NewWriterSize(stdout, 64<<10)
	code := exitOK
	switch {
	case *members != "":
		q, err := ix.Segment(memberKey)
		if err != nil { // resolved above: not expected
			return fail(exitFailure, "%v", err)
		}
		audienceWriteIDs(out, q, *limit)
		fmt.Fprintf(stderr, "segmatch audience: segment %s: %s%s\n", memberLabel, plural(q.Count(), "member"), audienceListed(q.Count(), *limit))
	case *queryFile != "":
		start := time.Now()
		q, err := ix.Query(query)
		if err != nil { // compiled above: not expected
			return fail(exitFailure, "%s: %v", *queryFile, err)
		}
		count := q.Count()
		took := since(start)
		audienceWriteIDs(out, q, *limit)
		fmt.Fprintf(stderr, "segmatch audience: query %s: %s in %v%s\n", *queryFile, plural(count, "contact"), audienceLatency(took), audienceListed(count, *limit))
	case *changesFile != "":
		code = audienceChanges(ix, changes, changesName, changesSize, ids, out, stderr)
	default:
		keys := ix.Segments()
		out.WriteString("segment_id\tname\tmembers\n")
		for i, k := range keys {
			c, _ := ix.Count(k)
			fmt.Fprintf(out, "%s\t%s\t%d\n", cell(k), cell(set.entries[i].name), c)
		}
	}
	if err := out.Flush(); err != nil {
		return fail(exitFailure, "writing: %v", err)
	}
	return code
}

// audienceKey resolves --members: a segment's key (its id, or the name
// of one without an id), else the one segment with that name; label
// names it for a message. An unknown one lists the file's segments and
// says how to see their members.
func (set *segmentSet) audienceKey(arg, file, project string) (key, label string, err error) {
	found := func(e *entry) (string, string, error) {
		key := e.prog.Key()
		if e.name != "" && e.name != key {
			return key, fmt.Sprintf("%s (%q)", key, e.name), nil
		}
		return key, fmt.Sprintf("%q", key), nil
	}
	var named []*entry
	for _, e := range set.entries {
		if e.id == arg || e.prog.Key() == arg {
			return found(e)
		}
		if e.name == arg {
			named = append(named, e)
		}
	}
	if len(named) == 1 {
		return found(named[0])
	}
	see := fmt.Sprintf("`segmatch audience --segments %s CONTACTS.jsonl` prints every segment's id, name and members", validateArgs(file, project))
	if len(named) > 1 {
		var labels []string
		for _, e := range named {
			labels = append(labels, e.label())
		}
		return "", "", fmt.Errorf("--members %q: %d segments of %s have this name; give one's id: %s", arg, len(named), set.file, strings.Join(labels, "; "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--members %q: no segment of %s has this id (or, alone, this name); its segments, id then name:", arg, set.file)
	shown := set.entries[:min(len(set.entries), maxListed)]
	width := 1
	for _, e := range shown {
		width = max(width, len(e.prog.Key()))
	}
	for _, e := range shown {
		fmt.Fprintf(&b, "\n  %-*s  %q", width, e.prog.Key(), e.name)
	}
	if n := len(set.entries) - len(shown); n > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", n)
	}
	if len(set.entries) == 0 {
		b.WriteString(" none")
	}
	b.WriteString("\nsegmatch audience: " + see)
	return "", "", errors.New(b.String())
}

// loadAudienceQuery reads an ad-hoc segment: one segment document, decoded and
// compiled as a segments file's are, each problem with its JSON Pointer.
func loadAudienceQuery(file string, now func() time.Time, stderr io.Writer) (filter.Segment, bool) {
	data, err := readFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch audience: --query: %v\n", err)
		return filter.Segment{}, false
	}
	seg, err := filter.DecodeSegment(data)
	if err == nil {
		_, err = segmatch.Compile(seg, segmatch.WithNow(now))
	}
	if err == nil {
		return seg, true
	}
	set := &segmentSet{file: file}
	e := newEntry(0, lineOf(data, len(data)-len(bytes.TrimLeft(data, " \t\r\n"))), data)
	set.report(e, err)
	for _, p := range set.problems {
		fmt.Fprintln(stderr, p)
	}
	fmt.Fprintf(stderr, "segmatch audience: --query %s: %s; want one segment document (segmatch validate %s)\n", file, plural(len(set.problems), "problem"), file)
	return filter.Segment{}, false
}

// audienceCounter feeds the progress bar: lines and bytes read so far.
type audienceCounter struct {
	r            io.Reader
	bar          *progress
	lines, bytes int64
}

func (c *audienceCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.bar != nil && n > 0 {
		c.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
		c.bytes += int64(n)
		c.bar.update(c.lines, c.bytes)
	}
	return n, err
}

// audienceLineProblem words a bad line: FILE:LINE: reason (the contact's id when
// it has one).
func audienceLineProblem(name string, err error, idFields []string) string {
	var ce *audience.ContactError
	if !errors.As(err, &ce) {
		return fmt.Sprintf("%s: %v", name, err)
	}
	reason := lineReason(ce.Err)
	switch {
	case errors.Is(ce.Err, audience.ErrNoID):
		reason = fmt.Sprintf("contact has no id (none of %s is a non-empty string or a number; --id-fields)", strings.Join(idFields, ", "))
	case errors.Is(ce.Err, audience.ErrTooLarge):
		reason = fmt.Sprintf("contact too large (over %d bytes)", audience.DefaultMaxContactBytes)
	}
	if ce.ID != "" {
		return fmt.Sprintf("%s:%d: contact %s: %s", name, ce.Line, ce.ID, reason)
	}
	return fmt.Sprintf("%s:%d: %s", name, ce.Line, reason)
}

// audienceLoadSummary tells what was loaded, how fast, and what the index
// costs:
//
//	segmatch audience: 6 contacts from 7 lines, 4 segments, loaded from c.jsonl in 1.234s (6 lines/s)
//	segmatch audience: index memory: the contacts' JSON 812 B, beyond it 2.3 KiB (members 96 B, field index 0 B, ids and tables 2.2 KiB), 390 B a contact
func audienceLoadSummary(w io.Writer, ix *audience.Index, lines int, name string, took time.Duration) {
	st := ix.Stats()
	from := ""
	if lines != st.Contacts {
		from = " from " + plural(lines, "line")
	}
	rate := ""
	if secs := took.Seconds(); secs > 0 {
		rate = fmt.Sprintf(" (%.0f lines/s)", float64(lines)/secs)
	}
	fmt.Fprintf(w, "segmatch audience: %s%s, %s, loaded from %s in %v%s\n",
		plural(st.Contacts, "contact"), from, plural(st.Segments, "segment"), name, audienceLatency(took), rate)
	fmt.Fprintln(w, audienceMemoryLine(st))
}

// audienceMemoryLine is the index's memory, from its Stats.
func audienceMemoryLine(st audience.Stats) string {
	beyond := st.MemberBytes + st.FieldIndexBytes + st.OverheadBytes
	return fmt.Sprintf("segmatch audience: index memory: the contacts' JSON %s, beyond it %s (members %s, field index %s, ids and tables %s), %s a contact",
		audienceBytes(int64(st.RawBytes)), audienceBytes(int64(beyond)), audienceBytes(int64(st.MemberBytes)),
		audienceBytes(int64(st.FieldIndexBytes)), audienceBytes(int64(st.OverheadBytes)), audienceBytes(int64(st.PerContact()+0.5)))
}

// audienceBytes is n in B, KiB, MiB or GiB.
func audienceBytes(n int64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
}

// audienceLatency keeps a latency readable: three significant digits or so.
func audienceLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}

// audienceWriteIDs prints a set's ids, one a line, at most limit (-1: all).
func audienceWriteIDs(out *bufio.Writer, q *audience.Query, limit int) {
	var ids []string
	if limit < 0 {
		ids = q.IDs()
	} else {
		ids = q.Page("", limit)
	}
	for _, id := range ids {
		out.WriteString(id)
		out.WriteByte('\n')
	}
}

// audienceListed says how many ids were printed when not all were.
func audienceListed(count, limit int) string {
	switch {
	case limit < 0 || limit >= count:
		return ""
	case limit == 0:
		return " (--limit 0: no ids listed)"
	}
	return fmt.Sprintf(" (first %d listed)", limit)
}

// audienceChanges applies a JSON Lines file of changes, each line in turn,
// printing each one's events as JSON Lines, then a summary on stderr.
func audienceChanges(ix *audience.Index, in io.Reader, name string, size int64, idFields []string, out *bufio.Writer, stderr io.Writer) int {
	start := time.Now()
	bar := newProgress(stderr, size)
	cr := &audienceCounter{r: in, bar: bar}
	var upserts, removals, unknown, entered, exited int
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	err := audienceLines(cr, audience.MaxLineBytes, func(ln int, line []byte) error {
		var events []audience.Event
		var err error
		if d := gjson.GetBytes(line, "_deleted"); d.Type == gjson.True {
			id, rerr := audienceRemovalID(line, ln, idFields)
			if rerr != nil {
				return rerr
			}
			events, err = ix.Remove(id)
			if errors.Is(err, audience.ErrNotFound) {
				unknown++
				return nil
			}
			if err != nil {
				return err
			}
			removals++
		} else {
			if events, err = ix.Upsert(line); err != nil {
				var ce *audience.ContactError
				if errors.As(err, &ce) {
					ce.Line = ln
				}
				return err
			}
			upserts++
		}
		for _, e := range events {
			if e.Entered {
				entered++
			} else {
				exited++
			}
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
	bar.clear()
	if ferr := out.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(stderr, "segmatch audience: %s\n", audienceLineProblem(name, err, idFields))
		return exitFailure
	}
	ignored := ""
	if unknown > 0 {
		ignored = fmt.Sprintf(", %s of an unknown contact: ignored", plural(unknown, "removal"))
	}
	fmt.Fprintf(stderr, "segmatch audience: %s from %s (%s, %s%s) in %v: %s (%d entered, %d exited)\n",
		plural(upserts+removals+unknown, "change"), name, plural(upserts, "upsert"), plural(removals, "removal"), ignored,
		audienceLatency(since(start)), plural(entered+exited, "event"), entered, exited)
	return exitOK
}

// audienceRemovalID is the id of a removal line: one JSON object whose first id
// field present is a non-empty string or a number, as a contact's.
func audienceRemovalID(line []byte, ln int, idFields []string) (string, error) {
	if _, err := audienceAnyContact.MatchJSON(line); err != nil { // MatchJSON's words for malformed JSON, as for a contact
		return "", &audience.ContactError{Line: ln, Err: err}
	}
	r := gjson.ParseBytes(line)
	for _, k := range idFields {
		v := r.Get(audienceIDKey(k))
		switch v.Type {
		case gjson.String:
			if v.Str != "" {
				return v.Str, nil
			}
		case gjson.Number:
			return v.Raw, nil
		}
	}
	return "", &audience.ContactError{Line: ln, Err: audience.ErrNoID}
}

// audienceAnyContact is the empty segment: its MatchJSON checks a line is one
// JSON object, and reads nothing.
var audienceAnyContact = func() *segmatch.Program {
	p, err := segmatch.Compile(filter.Segment{Filters: []filter.Filter{}})
	if err != nil {
		panic(err)
	}
	return p
}()

// audienceIDKey makes a key a gjson path of one step.
func audienceIDKey(k string) string {
	const special = `.*?|#@\!=<>%`
	if !strings.ContainsAny(k, special) {
		return k
	}
	var b strings.Builder
	for _, r := range k {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// audienceLines calls fn with each non-blank line of r (1-based line numbers,
// the line without its "\n" or "\r\n"), stopping at fn's first error. A
// line over max bytes is a *audience.ContactError wrapping ErrTooLarge.
func audienceLines(r io.Reader, max int, fn func(ln int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), max+1)
	ln := 0
	for sc.Scan() {
		ln++
		line := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := fn(ln, line); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return &audience.ContactError{Line: ln + 1, Err: audience.ErrTooLarge}
	}
	return sc.Err()
}
