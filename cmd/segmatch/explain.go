package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const explainUsage = `usage: segmatch explain --segments FILE --segment ID [--project P] [--format text|json]
                        [--now RFC3339] [CONTACT.json|-]

Evaluates one contact (a JSON object; stdin when the file is "-" or absent)
against one segment of FILE and prints the whole evaluation, nothing
skipped: one line per group and condition, ✓ or ✗ for its result, beside
each condition what the contact holds at its field (missing, null, or the
JSON read; a path through an array lists every value it reached), and the
condition's JSON Pointer in the segment. An elem_match lists the elements
that satisfy its group and shows the group on the first ones.

  text    the tree, indented (default)
  json    the same tree as JSON (segmatch.Explanation)

ID is a segment's id (_id or id), or its name when no other segment of
FILE has it. FILE is read as by classify: a JSON array of segments, JSON
Lines, or the store's data file (segmatch serve --data FILE) with
--project naming whose active segments.

Flags:
`

// explain evaluates one contact against one segment and prints the
// evaluation (segmatch.Program.ExplainJSON). Exit 1 for an unknown
// segment or a contact that is not one JSON object.
func explain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	segFile := fs.String("segments", "", "segments `FILE`: a JSON array of segments, JSON Lines, or the store's data file (with --project) (required)")
	segID := fs.String("segment", "", "the `ID` of the segment to explain: its id, or its name (required)")
	project := fs.String("project", "", "the `PROJECT_ID` whose segments to read when --segments is the store's data file")
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	nowFlag := fs.String("now", "", "fix the clock of relative dates (`RFC3339`); default: the time the run starts")
	fs.Usage = func() {
		fmt.Fprint(stderr, explainUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *segFile == "":
		fmt.Fprintln(stderr, "segmatch explain: --segments is required (segmatch explain -h for help)")
		return exitUsage
	case *segID == "":
		fmt.Fprintln(stderr, "segmatch explain: --segment is required: the id or name of the segment to explain (segmatch explain -h for help)")
		return exitUsage
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "segmatch explain: one contact file at most, got %d\n", fs.NArg())
		return exitUsage
	case *format != "text" && *format != "json":
		fmt.Fprintf(stderr, "segmatch explain: --format %q: want text or json\n", *format)
		return exitUsage
	}
	now, err := parseNowFlag(*nowFlag)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch explain: %v\n", err)
		return exitUsage
	}
	set, ok := loadForRun("explain", *segFile, *project, func() time.Time { return now }, stderr)
	if !ok {
		return exitFailure
	}
	e, err := set.find(*segID)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch explain: %v\n", err)
		return exitFailure
	}

	name, raw := "stdin", []byte(nil)
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		name = fs.Arg(0)
		raw, err = os.ReadFile(name)
	} else {
		raw, err = io.ReadAll(stdin)
	}
	if err != nil {
		fmt.Fprintf(stderr, "segmatch explain: %v\n", err)
		return exitFailure
	}
	x, err := e.prog.ExplainJSON(raw)
	if err != nil { // MatchJSON's own error: malformed JSON, or not an object
		fmt.Fprintf(stderr, "segmatch explain: %s: %v\n", name, err)
		return exitFailure
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		err = enc.Encode(x)
	} else {
		_, err = io.WriteString(stdout, x.String())
	}
	if err != nil {
		fmt.Fprintf(stderr, "segmatch explain: writing: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// maxListed is how many segments an unknown --segment lists.
const maxListed = 50

// find is the segment whose id is key, or else the one segment named key.
func (set *segmentSet) find(key string) (*entry, error) {
	var named []*entry
	for _, e := range set.entries {
		if e.prog == nil { // not expected: loadForRun stops on any problem
			continue
		}
		if e.id == key || e.prog.Key() == key {
			return e, nil
		}
		if e.name == key {
			named = append(named, e)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		var b strings.Builder
		fmt.Fprintf(&b, "no segment %q in %s (--segment takes an id, or a name); its segments, id then name:", key, set.file)
		listed := set.entries[:min(len(set.entries), maxListed)]
		width := 1
		for _, e := range listed {
			width = max(width, len(e.id))
		}
		for _, e := range listed {
			id := e.id
			if id == "" {
				id = "-"
			}
			fmt.Fprintf(&b, "\n  %-*s  %q", width, id, e.name)
		}
		if n := len(set.entries) - len(listed); n > 0 {
			fmt.Fprintf(&b, "\n  ... and %d more", n)
		}
		if len(set.entries) == 0 {
			b.WriteString(" none")
		}
		return nil, fmt.Errorf("%s", b.String())
	}
	var labels []string
	for _, e := range named {
		labels = append(labels, e.label())
	}
	return nil, fmt.Errorf("%d segments of %s are named %q; give one's id: %s", len(named), set.file, key, strings.Join(labels, "; "))
}
