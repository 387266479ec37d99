package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// segmentFlags are the flags that name a run's segments and fix its
// clock, the same in every command that reads a segments file.
type segmentFlags struct {
	file, project, now *string
}

func addSegmentFlags(fs *flag.FlagSet) *segmentFlags {
	return &segmentFlags{
		file:    fs.String("segments", "", "segments `FILE` (required)"),
		project: fs.String("project", "", "the `PROJECT_ID` whose segments to read when --segments is the store's data file"),
		now:     fs.String("now", "", "fix the clock of relative dates (`RFC3339`); default: now"),
	}
}

// load parses --now and loads the segments for a run of cmd (every
// problem reported to stderr); code is the exit code when ok is false.
func (f *segmentFlags) load(cmd string, stderr io.Writer) (set *segmentSet, now time.Time, code int, ok bool) {
	now, err := parseNowFlag(*f.now)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch %s: %v\n", cmd, err)
		return nil, now, exitUsage, false
	}
	set, ok = loadForRun(cmd, *f.file, *f.project, func() time.Time { return now }, stderr)
	if !ok {
		return nil, now, exitFailure, false
	}
	return set, now, exitOK, true
}

// usesFlag reports whether args (before a "--") give the flag name, in
// any of the spellings package flag accepts.
func usesFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, p := range []string{"-", "--"} {
			if a == p+name || strings.HasPrefix(a, p+name+"=") {
				return true
			}
		}
	}
	return false
}
