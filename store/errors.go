package store

import (
	"errors"
	"fmt"

	"github.com/segmatch/segmatch"
)

// Sentinel errors; branch on them with errors.Is.
var (
	// ErrNotFound: no active segment with that id in that project.
	ErrNotFound = errors.New("segment not found")
	// ErrConflict: an update's precondition no longer holds (someone
	// else wrote the segment since the caller read it).
	ErrConflict = errors.New("segment changed since it was read")
	// ErrInvalid: the caller's input is wrong: a segment that does not
	// compile (the *segmatch.CompileError values are wrapped too, see
	// Problems), bad list options (a *ParamError), an empty project id.
	ErrInvalid = errors.New("invalid input")
	// ErrBadParam: a list option is wrong (a *ParamError); it is an
	// ErrInvalid too.
	ErrBadParam = fmt.Errorf("%w: bad list option", ErrInvalid)
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
)

// invalidError wraps the problems of an invalid segment so that
// errors.Is(err, ErrInvalid) holds and errors.As reaches each problem.
type invalidError struct{ problems error }

func (e *invalidError) Error() string   { return "invalid segment: " + e.problems.Error() }
func (e *invalidError) Unwrap() []error { return []error{ErrInvalid, e.problems} }

// Problems returns every *segmatch.CompileError wrapped in err, in order,
// each with the JSON Pointer of its place in the segment document. It is
// empty when err carries none.
func Problems(err error) []*segmatch.CompileError {
	var out []*segmatch.CompileError
	var walk func(error)
	walk = func(e error) {
		if ce, ok := e.(*segmatch.CompileError); ok {
			out = append(out, ce)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// ParamError is an invalid list option, such as limit=5000. It wraps
// ErrBadParam (and so ErrInvalid).
type ParamError struct {
	Param  string // "limit", "page", "sort", "direction"
	Value  string // as given
	Reason string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Param, e.Value, e.Reason)
}

func (e *ParamError) Unwrap() error { return ErrBadParam }

// CheckProject rejects an empty or oversized project id (a programming
// error in the caller; it wraps ErrInvalid).
func CheckProject(project string) error {
	if project == "" {
		return fmt.Errorf("%w: empty project id", ErrInvalid)
	}
	if len(project) > MaxProjectLen {
		return fmt.Errorf("%w: project id longer than %d bytes", ErrInvalid, MaxProjectLen)
	}
	return nil
}

// MaxProjectLen bounds a project id, in bytes.
const MaxProjectLen = 256
