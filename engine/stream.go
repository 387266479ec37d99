package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// StreamOptions configures ClassifyStream. The zero value is usable.
type StreamOptions struct {
	// Workers classifying in parallel; default: every core.
	Workers int
	// BatchSize is how many lines travel together between stages
	// (default 256).
	BatchSize int
	// MaxLineBytes bounds one line (default 16 MiB); a longer line is
	// reported as a bad line and skipped, never truncated silently.
	MaxLineBytes int
	// Progress, when set, is called after each batch is delivered with
	// the lines and bytes read so far.
	Progress func(lines, bytes int64)
}

// Line is one input line's outcome, handed to the sink in input order.
// Raw and Result are valid only during the sink call.
type Line struct {
	Number int     // 1-based line number in the input
	Raw    []byte  // the line, without its newline
	Result *Result // the classification; nil when Err is set
	Err    error   // why the line is not a contact (a *LineError)
}

// LineError is a bad input line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrLineTooLong is wrapped by the LineError of a line over MaxLineBytes.
var ErrLineTooLong = errors.New("line too long")

// Stats counts what a stream saw. Every line is one of Contacts, Bad or
// Blank (whitespace only, not a contact).
type Stats struct {
	Lines, Contacts, Bad, Blank, Bytes int64
}

type batch struct {
	seq     int
	first   int      // line number of lines[0]
	lines   [][]byte // views into buf
	buf     []byte
	offs    []int
	errs    []error
	blank   []bool
	matches []bool   // len(lines) * segments
	caps    []string // len(lines) * captures (segmatch.WithCapture), into buf
	bytes   int64
}

// Bounds on StreamOptions: memory in flight is about 2 × Workers batches
// of at most BatchSize lines and batchBytes (4 MiB) plus one line of up
// to MaxLineBytes, so neither may be set beyond what one machine serves.
const (
	MaxWorkers   = 1024
	MaxBatchSize = 1 << 16
)

// ErrBadOptions is returned by ClassifyStream for options beyond the
// bounds above.
var ErrBadOptions = errors.New("engine: bad stream options")

// ClassifyStream classifies a JSON Lines stream with parallel workers and
// hands every line to sink in input order: its matches, or why it is bad
// (a bad line never stops the stream; sink decides). Memory stays bounded
// whatever the input size: reading waits while too many batches are in
// flight. It stops at the end of input, when ctx is done (returning
// ctx.Err()), or when sink returns an error (returning it).
func (e *Engine) ClassifyStream(ctx context.Context, in io.Reader, sink func(*Line) error, opts StreamOptions) (Stats, error) {
	switch {
	case opts.Workers > MaxWorkers:
		return Stats{}, fmt.Errorf("%w: %d workers; at most %d", ErrBadOptions, opts.Workers, MaxWorkers)
	case opts.BatchSize > MaxBatchSize:
		return Stats{}, fmt.Errorf("%w: batches of %d lines; at most %d", ErrBadOptions, opts.BatchSize, MaxBatchSize)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 16 << 20
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	inFlight := 2*opts.Workers + 2
	tokens := make(chan struct{}, inFlight)
	done := make(chan *batch, inFlight)
	n, nc := e.Len(), e.set.Captures()
	now := e.set.Now() // one clock reading for the whole stream
	pool := sync.Pool{New: func() any { return &batch{} }}

	// Each worker reads its own batches, one at a time under the source's
	// lock, so the lines it classifies were just copied by its own core
	// (hot in its cache) and no reader goroutine competes for the cores.
	src := &lineSource{br: bufio.NewReaderSize(in, 256<<10), opts: opts}
	var workers sync.WaitGroup
	for w := 0; w < opts.Workers; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			res := e.NewResult()
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				b := pool.Get().(*batch)
				if !src.next(b) {
					<-tokens
					pool.Put(b)
					return
				}
				e.classifyBatch(b, res, now)
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { workers.Wait(); close(done) }()

	// emitter: in order
	var st Stats
	var sinkErr error
	pending := map[int]*batch{}
	next := 0
	res := &Result{eng: e}
	line := &Line{}
	for b := range done {
		if sinkErr != nil {
			continue
		}
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for i, l := range b.lines {
				st.Lines++
				if b.blank[i] {
					st.Blank++
					continue
				}
				*line = Line{Number: b.first + i, Raw: l}
				if b.errs[i] != nil {
					st.Bad++
					line.Err = b.errs[i]
				} else {
					st.Contacts++
					res.Matches = b.matches[i*n : (i+1)*n]
					res.caps = b.caps[i*nc : (i+1)*nc]
					line.Result = res
				}
				if sinkErr = sink(line); sinkErr != nil {
					cancel()
					break
				}
			}
			st.Bytes += b.bytes
			if opts.Progress != nil {
				opts.Progress(st.Lines, st.Bytes)
			}
			pool.Put(b)
			<-tokens
			if sinkErr != nil {
				break
			}
		}
	}
	switch {
	case sinkErr != nil:
		return st, sinkErr
	case src.err != nil:
		return st, src.err
	}
	return st, ctx.Err()
}

// classifyBatch classifies a batch's lines into it.
func (e *Engine) classifyBatch(b *batch, res *Result, now time.Time) {
	n, nc := e.Len(), e.set.Captures()
	if cap(b.matches) < len(b.lines)*n {
		b.matches = make([]bool, len(b.lines)*n)
	}
	b.matches = b.matches[:len(b.lines)*n]
	if cap(b.caps) < len(b.lines)*nc {
		b.caps = make([]string, len(b.lines)*nc)
	}
	b.caps = b.caps[:len(b.lines)*nc]
	b.errs = b.errs[:0]
	for i, l := range b.lines {
		b.errs = append(b.errs, nil)
		if b.blank[i] {
			continue
		}
		if l == nil { // over MaxLineBytes
			b.errs[i] = &LineError{Line: b.first + i, Err: ErrLineTooLong}
			continue
		}
		if err := e.classifyJSONAt(l, res, now); err != nil {
			b.errs[i] = &LineError{Line: b.first + i, Err: err}
			continue
		}
		copy(b.matches[i*n:(i+1)*n], res.Matches)
		if nc > 0 {
			copy(b.caps[i*nc:(i+1)*nc], res.scratch.Captured())
		}
	}
}

// batchBytes bounds a batch's lines in bytes (past the line that crosses
// it).
const batchBytes = 4 << 20

// lineSource splits the input into batches of lines for the workers,
// one batch at a time.
type lineSource struct {
	mu     sync.Mutex
	br     *bufio.Reader
	opts   StreamOptions
	lineNo int // lines handed out
	seq    int // batches handed out
	over   bool
	err    error // the read error that ended the input
}

// next fills b with the next batch; false when the input is over (or
// failed: err).
func (s *lineSource) next(b *batch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return false
	}
	opts := s.opts
	b.seq, b.first, b.lines, b.buf, b.blank, b.bytes = s.seq, s.lineNo+1, b.lines[:0], b.buf[:0], b.blank[:0], 0
	offs := b.offs[:0] // line start offsets in buf; -1 for a too-long line
	// a batch ends at BatchSize lines or past batchBytes (one long line
	// still fits): memory in flight is bounded by bytes, not lines of up to
	// MaxLineBytes each
	for len(offs) < opts.BatchSize && !s.over && len(b.buf) < batchBytes {
		start := len(b.buf)
		tooLong := false
		for {
			chunk, err := s.br.ReadSlice('\n')
			b.bytes += int64(len(chunk))
			if !tooLong {
				if len(b.buf)-start+len(chunk) > opts.MaxLineBytes+1 {
					tooLong = true
					b.buf = b.buf[:start]
				} else {
					b.buf = append(b.buf, chunk...)
				}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil && err != io.EOF {
				// the line it cut short is not a line; the error says which
				s.err = fmt.Errorf("reading line %d: %w", s.lineNo+1, err)
				b.buf, tooLong = b.buf[:start], false
			}
			s.over = err != nil
			break
		}
		if s.over && len(b.buf) == start && !tooLong {
			break
		}
		s.lineNo++
		if tooLong {
			offs = append(offs, -1)
		} else {
			offs = append(offs, start)
		}
	}
	b.offs = offs
	// views are taken once buf stops growing
	for i, off := range offs {
		if off < 0 {
			b.lines = append(b.lines, nil)
			b.blank = append(b.blank, false)
			continue
		}
		end := len(b.buf)
		for j := i + 1; j < len(offs); j++ {
			if offs[j] >= 0 {
				end = offs[j]
				break
			}
		}
		l := bytes.TrimRight(b.buf[off:end], "\r\n")
		b.lines = append(b.lines, l)
		b.blank = append(b.blank, len(bytes.TrimSpace(l)) == 0)
	}
	if len(b.lines) == 0 {
		return false
	}
	s.seq++
	return true
}
