package store

import (
	"errors"
	"fmt"

	"github.com/segmatch/segmatch"
)

// Default limits of one project (see Limits).
const (
	// DefaultMaxSegments bounds a project's active segments. Tiledesk
	// projects hold tens to hundreds; 10,000 leaves two orders of
	// magnitude of room while keeping a project's engine rebuild (every
	// change recompiles the project's set) and a full List bounded.
	DefaultMaxSegments = 10_000
	// DefaultMaxProjectBytes bounds the total estimated compiled size
	// (segmatch.Program.Size) of a project's active segments. A typical
	// segment of a few conditions is 1–1.5 KiB (testdata/, the benchmark
	// workload), so 10,000 of them take about 13 MiB and the count binds
	// first; the size binds for projects of large segments: the largest a
	// request can carry (a 1 MiB `in` list) is about 8 MiB compiled, so a
	// project holds 32 of those.
	//
	// It is an estimate of one compiled copy of the project's active
	// segments, not a bound on the memory the server spends on the
	// project: the keeper holds the project's segments and engine (and a
	// second engine while it builds the next), the overlay of segments
	// written since the last build, and programs in its cache for the
	// overlay and /match (bounded across all projects); stores keep their own copies (the
	// bolt store's decoded-record cache, bounded separately by
	// bolt.WithCacheBytes; the memory store's records), and requests in
	// flight decode and compile segments of their own. Deleted segments
	// count for nothing.
	DefaultMaxProjectBytes = 256 << 20
)

// Limits bounds what one project may hold in a store. Every
// implementation checks them atomically with the write that would cross
// them (two concurrent creates at the limit: one succeeds), against the
// project's active segments only: deleted ones count for nothing.
//
// A write that adds a segment when the project has MaxSegments, or grows
// its total compiled size beyond MaxBytes, fails with a *LimitError
// (errors.Is(err, ErrLimit)) and changes nothing. Deletes always succeed,
// as do updates that do not grow the total, so a project already beyond
// lowered limits can always be brought back under them.
type Limits struct {
	// MaxSegments: active segments per project. 0 means
	// DefaultMaxSegments; a negative value means no limit.
	MaxSegments int
	// MaxBytes: the total segmatch.Program.Size of a project's active
	// segments. 0 means DefaultMaxProjectBytes; negative, no limit.
	MaxBytes int64
}

// DefaultLimits are the limits of a store not given any.
var DefaultLimits = Limits{MaxSegments: DefaultMaxSegments, MaxBytes: DefaultMaxProjectBytes}

// Resolved returns l with zero fields replaced by the defaults.
func (l Limits) Resolved() Limits {
	if l.MaxSegments == 0 {
		l.MaxSegments = DefaultMaxSegments
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxProjectBytes
	}
	return l
}

// ErrLimit: a write would take a project beyond one of its Limits. It is
// not an ErrInvalid: the segment is fine, the project is full.
var ErrLimit = errors.New("project limit reached")

// LimitError is the error of a write refused by Limits; it wraps ErrLimit.
type LimitError struct {
	Project string
	// Limit is "segments" (Limits.MaxSegments) or "bytes" (Limits.MaxBytes).
	Limit string
	// Max is the limit, Used what the project holds before the write,
	// Need what the write adds.
	Max, Used, Need int64
}

func (e *LimitError) Error() string {
	if e.Limit == "segments" {
		return fmt.Sprintf("project %s: %v: it holds %d active segments, the most allowed is %d; delete some first",
			e.Project, ErrLimit, e.Used, e.Max)
	}
	return fmt.Sprintf("project %s: %v: its active segments take %d bytes compiled, this write adds %d, the most allowed is %d",
		e.Project, ErrLimit, e.Used, e.Need, e.Max)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// Usage is what a project holds: its active segments and the sum of
// their compiled sizes (Record.Size).
type Usage struct {
	Segments int
	Bytes    int64
}

// Add returns u with r counted (when active), or, with sign -1, uncounted.
func (u Usage) add(r *Record, sign int) Usage {
	if r == nil || !r.Active() {
		return u
	}
	u.Segments += sign
	u.Bytes += int64(sign) * r.CompiledSize()
	return u
}

// Plus returns u with r counted, when it is active.
func (u Usage) Plus(r *Record) Usage { return u.add(r, 1) }

// Minus returns u with r no longer counted, when it is active.
func (u Usage) Minus(r *Record) Usage { return u.add(r, -1) }

// Change returns the usage after a write replaces prev (nil for a
// create) by next.
func (u Usage) Change(prev *Record, next Record) Usage { return u.Minus(prev).Plus(&next) }

// Check returns nil when the write replacing prev (nil for a create) by
// next may go ahead in a project whose usage is u before it, and the
// *LimitError otherwise. Only what the write adds is checked: a write
// that adds no segment passes the count, one that does not grow the
// total size passes the size, whatever the project already holds.
func (l Limits) Check(project string, u Usage, prev *Record, next Record) error {
	l = l.Resolved()
	after := u.Change(prev, next)
	if added := after.Segments - u.Segments; added > 0 && l.MaxSegments >= 0 && after.Segments > l.MaxSegments {
		return &LimitError{Project: project, Limit: "segments", Max: int64(l.MaxSegments), Used: int64(u.Segments), Need: int64(added)}
	}
	if grown := after.Bytes - u.Bytes; grown > 0 && l.MaxBytes >= 0 && after.Bytes > l.MaxBytes {
		return &LimitError{Project: project, Limit: "bytes", Max: l.MaxBytes, Used: u.Bytes, Need: grown}
	}
	return nil
}

// CompiledSize returns the record's Size, compiling its segment when the
// size is unknown (a record stored before sizes were kept; it is then
// remembered in r). A stored segment that no longer compiles counts for
// nothing: it cannot be loaded into an engine either.
func (r *Record) CompiledSize() int64 {
	if r.Size >= 0 {
		return r.Size
	}
	r.Size = 0
	if p, err := segmatch.Compile(r.Segment); err == nil {
		r.Size = int64(p.Size())
	}
	return r.Size
}
