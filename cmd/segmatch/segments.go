package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/tidwall/gjson"
)

// entry is one segment read from a segments file, with what is needed to
// point a user at it: its index in the file (0-based, as in a JSON
// Pointer into the array), the line it starts on, and its id and name as
// far as they could be read even when the segment does not decode.
type entry struct {
	index int
	line  int
	id    string
	name  string
	raw   []byte
	seg   filter.Segment
	prog  *segmatch.Program
}

// label says which segment this is: `segment 2 (id 65f..., "VIPs", line 7)`.
func (e *entry) label() string {
	var parts []string
	if e.id != "" {
		parts = append(parts, "id "+e.id)
	}
	if e.name != "" {
		parts = append(parts, fmt.Sprintf("%q", e.name))
	}
	if e.line > 0 { // 0: not from a text file (a store)
		parts = append(parts, fmt.Sprintf("line %d", e.line))
	}
	return fmt.Sprintf("segment %d (%s)", e.index, strings.Join(parts, ", "))
}

// problem is one thing wrong in a segments file, already worded with its
// file, segment and JSON Pointer.
type problem string

// segmentSet is a loaded segments file.
type segmentSet struct {
	file     string
	entries  []*entry
	problems []problem
}

// loadSegments reads, decodes and compiles every segment of a file,
// collecting every problem rather than stopping at the first. now is the
// clock the programs read for relative dates.
func loadSegments(file string, now func() time.Time) (*segmentSet, error) {
	return loadSegmentsFrom(file, "", now, withPrograms)
}

// compileMode is what loading a segments file builds beside decoding.
type compileMode uint8

const (
	withPrograms compileMode = iota // a Program per segment (explain, sql, audience)
	decodeOnly                      // the segments alone, for an engine that compiles them (classify)
)

// loadForRun loads the segments a command runs on (see loadSegmentsFrom),
// printing on stderr why it cannot: every problem, then a line pointing
// at segmatch validate. ok false means the command fails (exit 1).
func loadForRun(cmd, file, project string, now func() time.Time, stderr io.Writer) (set *segmentSet, ok bool) {
	return loadChecked(cmd, file, project, now, withPrograms, stderr)
}

// loadChecked is loadForRun in a compile mode.
func loadChecked(cmd, file, project string, now func() time.Time, mode compileMode, stderr io.Writer) (set *segmentSet, ok bool) {
	set, err := loadSegmentsFrom(file, project, now, mode)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch %s: %v\n", cmd, err)
		return nil, false
	}
	if len(set.problems) > 0 {
		for _, p := range set.problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "segmatch %s: %s in %s; run `segmatch validate %s`\n", cmd, plural(len(set.problems), "problem"), set.file, validateArgs(file, project))
		return nil, false
	}
	return set, true
}

// segments are the loaded segments, in file order.
func (set *segmentSet) segments() []filter.Segment {
	segs := make([]filter.Segment, len(set.entries))
	for i, e := range set.entries {
		segs[i] = e.seg
	}
	return segs
}

// loadSegmentsFrom is loadSegments for a file that may also be the
// store's data file (`segmatch serve --data FILE`), whose project's
// active segments are read when project is given.
func loadSegmentsFrom(file, project string, now func() time.Time, mode compileMode) (*segmentSet, error) {
	if isDataFile(file) {
		return loadDataFile(file, project, now, mode)
	}
	if project != "" {
		return nil, fmt.Errorf("%s: --project %s is for the store's data file (`segmatch serve --data FILE`), and this is not one; a segments file needs no --project", file, project)
	}
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	set := &segmentSet{file: file}
	if err := set.split(data); err != nil {
		return nil, err
	}
	set.compile(now, mode)
	return set, nil
}

// compile decodes (and, withPrograms, compiles) every entry, recording
// its problems.
func (set *segmentSet) compile(now func() time.Time, mode compileMode) {
	seen := map[string]*entry{}
	for _, e := range set.entries {
		seg, err := filter.DecodeSegment(e.raw)
		if err != nil {
			set.report(e, err)
			continue
		}
		e.seg = seg
		var prog *segmatch.Program
		if mode == withPrograms {
			if prog, err = segmatch.Compile(seg, segmatch.WithNow(now)); err != nil {
				set.report(e, err)
				continue
			}
		}
		// Results name segments by key: a segment without one, or two
		// with one key, would make a classification ambiguous.
		k := seg.Key()
		if k == "" {
			set.report(e, &filter.Error{Path: "", Err: filter.ErrNoIdentity})
			continue
		}
		e.prog = prog
		if first, dup := seen[k]; dup {
			set.add(e, "/_id", fmt.Sprintf("duplicate segment key %q (also segment %d)", k, first.index))
		} else {
			seen[k] = e
		}
	}
}

func readFile(file string) ([]byte, error) {
	if file == "-" {
		return nil, errors.New(`segments cannot be read from stdin ("-"); give a file`)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// split cuts the file into segment documents: a JSON array of segments,
// a single segment object, or JSON Lines (one segment a line, blank lines
// ignored). A syntax error in an array is fatal and located by line and
// column; one in a JSON Lines line is that segment's problem.
func (s *segmentSet) split(data []byte) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return fmt.Errorf("%s: empty file; want a JSON array of segments or JSON Lines", s.file)
	case trimmed[0] == '[':
		if err := syntaxCheck(data); err != nil {
			return fmt.Errorf("%s:%v", s.file, err)
		}
		// each element is valid JSON: the file is; lines are counted on
		// from the element before
		i, at, line := 0, 0, 1
		gjson.ParseBytes(data).ForEach(func(_, v gjson.Result) bool {
			line += bytes.Count(data[at:v.Index], []byte("\n"))
			at = v.Index
			s.entries = append(s.entries, validEntry(i, line, []byte(v.Raw)))
			i++
			return true
		})
		return nil
	case rawjson.Validate(data) == nil:
		s.entries = append(s.entries, newEntry(0, lineOf(data, len(data)-len(trimmed)), data))
		return nil
	}
	i := 0
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s.entries = append(s.entries, newEntry(i, n+1, line))
		i++
	}
	return nil
}

func newEntry(index, line int, raw []byte) *entry {
	if rawjson.Validate(raw) != nil {
		return &entry{index: index, line: line, raw: raw}
	}
	return validEntry(index, line, raw)
}

// validEntry is newEntry of a raw known to be valid JSON.
func validEntry(index, line int, raw []byte) *entry {
	e := &entry{index: index, line: line, raw: raw}
	r := gjson.ParseBytes(raw)
	for _, k := range []string{"_id", "id"} {
		if v := r.Get(k); v.Type == gjson.String && v.Str != "" {
			e.id = v.Str
			break
		}
	}
	if v := r.Get("name"); v.Type == gjson.String {
		e.name = v.Str
	}
	return e
}

// report records every problem of a decode or compile error (an
// errors.Join of *filter.Error), each with its JSON Pointer.
func (s *segmentSet) report(e *entry, err error) {
	for _, one := range flatten(err) {
		var fe *filter.Error
		if errors.As(one, &fe) {
			ptr := fe.Path
			if ptr == "" {
				ptr = "/"
			}
			s.add(e, ptr, fe.Err.Error())
			continue
		}
		s.add(e, "/", one.Error())
	}
}

func (s *segmentSet) add(e *entry, ptr, msg string) {
	// One problem a line: a multi-line message (expr's caret diagram)
	// keeps its first line, which already gives the position.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	s.problems = append(s.problems, problem(fmt.Sprintf("%s: %s: %s: %s", s.file, e.label(), ptr, msg)))
}

// flatten undoes errors.Join (recursively), keeping the order.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// syntaxCheck reports a JSON syntax error as "LINE:COL: message".
func syntaxCheck(data []byte) error {
	if rawjson.Validate(data) == nil { // json.Valid's verdict, sooner
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(data, int(se.Offset))
		return fmt.Errorf("%d:%d: malformed JSON: %v", line, col, se)
	}
	return fmt.Errorf("1:1: malformed JSON: %v", err)
}

// lineOf is the 1-based line of byte offset off.
func lineOf(data []byte, off int) int {
	line, _ := lineCol(data, off)
	return line
}

// lineCol is the 1-based line and column of byte offset off.
func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}
