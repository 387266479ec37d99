package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// validate compiles every segment of every file and prints every problem,
// one a line, each with its file, segment index, id, name, line and JSON
// Pointer. Exit 1 on any problem, else 0 with "N segments OK". A file
// that is the store's data file is checked for the --project segments.
func validate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", "", "the `PROJECT_ID` whose segments to check in a FILE that is the store's data file (segmatch serve --data)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: segmatch validate [--project P] FILE...")
		fmt.Fprintln(stderr, "A FILE is a JSON array of segments, JSON Lines, or the store's data file (with --project).")
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
			}
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
