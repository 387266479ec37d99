package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal; tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is classify's progress bar on stderr: lines and bytes read,
// the rate and, when the input's size is known, the ETA. It exists only
// when stderr is a terminal; a nil *progress does nothing, so that a pipe
// or a file gets no bar at all.
//
// It is driven from one goroutine (the stream's sink and Progress
// callback), and renders only from there: no spinner goroutine.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress makes the bar when stderr is a terminal; size is the
// input's size in bytes, or -1 when unknown (stdin from a pipe).
func newProgress(stderr io.Writer, size int64) *progress {
	if !isTerminal(stderr) {
		return nil
	}
	if size <= 0 {
		size = -1
	}
	return &progress{bar: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(stderr), // never stdout (the library's default)
		progressbar.OptionSetDescription("0 lines"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(25),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetSpinnerChangeInterval(0),
	)}
}

// update shows the lines and bytes read so far.
func (p *progress) update(lines, bytes int64) {
	if p == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%d lines", lines))
	_ = p.bar.Set64(bytes)
}

// printf writes a message to stderr above the bar.
func (p *progress) printf(w io.Writer, format string, a ...any) {
	p.clear()
	fmt.Fprintf(w, format, a...)
}

// clear erases the bar (it comes back at the next update).
func (p *progress) clear() {
	if p != nil {
		_ = p.bar.Clear()
	}
}
