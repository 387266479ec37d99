package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// validate compiles every segment of every file and prints every problem,
// one a line, each with its file, segment index, id, name, line and JSON
// Pointer. Exit 1 on any problem, else 0 with "N segments OK". A file
// that is the store's data file is checked for the --project segments.
// Segments that compile but are costly to evaluate get a warning on
// stderr (see costWarnings), which changes no exit code.
func validate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", "", "the `PROJECT_ID` whose segments to check in a FILE that is the store's data file (segmatch serve --data)")
	quiet := fs.Bool("no-cost-warnings", false, "do not warn about segments that are costly to evaluate")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: segmatch validate [--project P] [--no-cost-warnings] FILE...")
		fmt.Fprintln(stderr, "A FILE is a JSON array of segments, JSON Lines, or the store's data file (with --project).")
		fmt.Fprintf(stderr, "Warns on stderr (exit code unchanged) about a segment with a condition on the whole contact\n"+
			"charged %d ns or more per contact byte (expr: it decodes every contact in full), or one charged\n"+
			"%d ns or more per contact byte in all (a quarter of segmatch.MaxSegmentCost; a typical segment: 32-160).\n",
			wholeContactCost, costlySegment)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	// Relative dates are only parsed here, never evaluated: any clock will do.
	now := func() time.Time { return time.Time{} }
	total, bad, problems, unread := 0, 0, 0, 0
	var compiled []costed
	for _, file := range fs.Args() {
		p := ""
		if isDataFile(file) {
			p = *project // other files need none, whatever --project says
		}
		set, err := loadSegmentsFrom(file, p, now, withPrograms)
		if err != nil {
			fmt.Fprintln(stdout, err)
			problems++
			unread++ // its segments are not counted: they were never read
			continue
		}
		total += len(set.entries)
		for _, p := range set.problems {
			fmt.Fprintln(stdout, p)
		}
		problems += len(set.problems)
		for _, e := range set.entries {
			if e.prog == nil {
				bad++
			} else {
				compiled = append(compiled, costed{set.file, e})
			}
		}
	}
	if !*quiet {
		if w := costWarnings(compiled); len(w) > 0 {
			for _, line := range w {
				fmt.Fprintln(stderr, line)
			}
			fmt.Fprintf(stderr, "segmatch validate: %s (not errors; --no-cost-warnings silences them)\n", plural(len(w), "cost warning"))
		}
	}
	if problems > 0 {
		fmt.Fprintln(stderr, validateSummary(problems, unread, fs.NArg(), bad, total))
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s OK\n", plural(total, "segment"))
	return exitOK
}

// validateSummary is validate's last line when something is wrong:
//
//	1 problem: 1 of 1 file could not be read
//	5 problems: 1 of 3 files could not be read; 3 of 9 segments do not compile
//
// A file that could not be read (missing, or not split into segments)
// counts as one problem and none of its segments; the segments part
// counts the segments of the files that were read.
func validateSummary(problems, unread, files, bad, total int) string {
	var parts []string
	if unread > 0 {
		parts = append(parts, fmt.Sprintf("%d of %s could not be read", unread, plural(files, "file")))
	}
	if total > 0 || unread == 0 {
		parts = append(parts, fmt.Sprintf("%d of %s do not compile", bad, plural(total, "segment")))
	}
	return plural(problems, "problem") + ": " + strings.Join(parts, "; ")
}

// plural writes "1 problem", "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// The thresholds of validate's cost warnings, in ns per byte of contact
// as the compiler charges them (Program.Cost, README "Bounds"). Typical
// segments cost 32 to 160 (the shipped sample's median is 48): a
// condition is charged at least 16 per byte of what it reads.
const (
	// wholeContactCost: a condition on the whole contact (field "", not
	// inside elem_match) charged this much decodes every contact in full
	// on every evaluation: an expr (its bound + ExprDecodeNsPerByte).
	// Where a condition on a field pays only for that field's bytes, it
	// pays for all of them, and allocates: the sample's expr segment,
	// charged 144, takes 10 to 30 times the CPU of any other.
	wholeContactCost = operators.ExprDecodeNsPerByte
	// costlySegment: a segment charged this much in all is within 4× of
	// the bound (regexes of many instructions, lists under ignore_case,
	// contains_all, heavy elem_match groups).
	costlySegment = segmatch.MaxSegmentCost / 4
)

// costed is a compiled segment and the file it is in.
type costed struct {
	file string
	e    *entry
}

// condCost is one condition of a segment and what it alone is charged.
type condCost struct {
	ptr   string // its JSON Pointer in the segment
	op    string // the operator's canonical name
	field string
	cost  int  // ns per contact byte; an elem_match's includes its group
	top   bool // not inside an elem_match (field "" is the whole contact)
	kids  []condCost
}

// costWarnings words a warning for each costly segment of segs (see
// wholeContactCost and costlySegment), naming the costly condition by
// its JSON Pointer, in the order of segs.
func costWarnings(segs []costed) []string {
	if len(segs) == 0 {
		return nil
	}
	costs := make([]int, len(segs))
	for i, s := range segs {
		costs[i] = s.e.prog.Cost()
	}
	slices.Sort(costs)
	median := costs[len(costs)/2]
	ctx := fmt.Sprintf("the median of the %s: %d", plural(len(segs), "segment"), median)
	if len(segs) == 1 {
		ctx = "a typical segment: 32-160"
	}
	var out []string
	for _, s := range segs {
		total := s.e.prog.Cost()
		if total < wholeContactCost { // neither rule can apply
			continue
		}
		conds := conditionCosts(s.e.seg.Filters, "", true)
		where := s.file + ": " + s.e.label() + ":"
		var whole *condCost
		for i := range conds {
			c := &conds[i]
			if c.top && c.field == "" && c.op != "elem_match" && c.cost >= wholeContactCost && (whole == nil || c.cost > whole.cost) {
				whole = c
			}
		}
		switch {
		case whole != nil && total < costlySegment:
			out = append(out, fmt.Sprintf(`%s %s: warning: costly: %s on the whole contact (field "") decodes every contact in full, every time: estimated at %d of the segment's %d ns per contact byte (%s); an expr on a field (such as "attributes") decodes only that field, plain conditions nothing`,
				where, whole.ptr, whole.op, whole.cost, total, ctx))
		case total >= costlySegment:
			c := costliest(conds)
			out = append(out, fmt.Sprintf("%s %s: warning: costly: the segment is estimated at %d ns per contact byte, %d of it this %s condition (%s; the bound: %d)",
				where, c.ptr, total, c.cost, c.op, ctx, segmatch.MaxSegmentCost))
		}
	}
	return out
}

// costliest is the condition to name for a costly segment: the one
// charged most or, when that is an elem_match, the condition of its
// group that makes at least half of its cost (recursively).
func costliest(conds []condCost) condCost {
	var best condCost
	for _, c := range conds {
		if c.cost > best.cost {
			best = c
		}
	}
	for len(best.kids) > 0 {
		inner := costliest(best.kids)
		if 2*inner.cost < best.cost {
			break
		}
		best = inner
	}
	return best
}

// conditionCosts lists the conditions of fs (groups flattened, each
// elem_match with its group's conditions as kids), base being the JSON
// Pointer of their enclosing group. What each is charged is what a
// segment of that condition alone costs beyond its root group's
// CostScan: the compiler charges a segment the sum of its conditions'
// and groups' costs.
func conditionCosts(fs []filter.Filter, base string, top bool) []condCost {
	var out []condCost
	for i, f := range fs {
		ptr := base + "/filters/" + strconv.Itoa(i)
		if f.IsGroup() {
			out = append(out, conditionCosts(f.Filters, ptr, top)...)
			continue
		}
		op, ok := operators.CanonicalName(f.Operator)
		if !ok {
			op = f.Operator
		}
		c := condCost{ptr: ptr, op: op, field: f.Field, top: top}
		if p, err := segmatch.Compile(filter.Segment{ID: "cost", Match: filter.All, Filters: []filter.Filter{f}}); err == nil {
			c.cost = max(p.Cost()-operators.CostScan, 0)
		}
		if op == "elem_match" {
			if g, err := filter.DecodeGroup(f.Value, ptr+"/value", 1); err == nil {
				c.kids = conditionCosts(g.Filters, ptr+"/value", false)
			}
		}
		out = append(out, c)
	}
	return out
}
