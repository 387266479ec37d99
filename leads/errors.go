package leads

import (
	"errors"
	"fmt"
	"time"
)

// Error kinds, for errors.Is; the HTTP API maps each to one status.
var (
	// ErrLeadTooLarge: a lead's JSON is over Limits.MaxLeadBytes (413).
	ErrLeadTooLarge = errors.New("lead too large")
	// ErrBadLead: a lead that is not one JSON object, has no id, or whose
	// id is not the one of its path (400).
	ErrBadLead = errors.New("invalid lead")
	// ErrTooManyLeads: a bulk request of more than Limits.MaxBulkLeads
	// leads (400); the leads before the limit were applied.
	ErrTooManyLeads = errors.New("too many leads in one request")
	// ErrBulkTooLarge: a bulk request's body is over Limits.MaxBulkBytes
	// (413); the lines before the one passing it were applied.
	ErrBulkTooLarge = errors.New("bulk request too large")
	// ErrProjectFull: the project holds Limits.MaxProjectLeads leads, and
	// this write adds one, or its leads' JSON would pass
	// Limits.MaxProjectBytes (409).
	ErrProjectFull = errors.New("project lead limit reached")
	// ErrNotIndexed: a stored segment that the index cannot hold (it no
	// longer compiles: written before a bound it now exceeds) (422).
	ErrNotIndexed = errors.New("the stored segment is not in the audience index")
	// ErrTooManyStreams: the project has Limits.MaxStreams event
	// streams open (429).
	ErrTooManyStreams = errors.New("too many event streams open")
	// ErrUnavailable: the project's leads could not be loaded (a store
	// failure); the load is retried after a back-off (503, Retry-After).
	ErrUnavailable = errors.New("the project's leads are not available")
	// ErrRelayed: a preview asked of a Relay whose backend cannot answer
	// one (501).
	ErrRelayed = errors.New("not served past one machine")
	// ErrTooSlow: a relayed preview that scanned the stored contacts for
	// longer than its bound (503).
	ErrTooSlow = errors.New("the answer took too long")
	// ErrBackendDown: a Relay's backend (NATS, PostgreSQL) did not answer
	// in time (503, Retry-After).
	ErrBackendDown = errors.New("the leads' backend is unavailable")
	// ErrBusy: a relayed preview while as many as the backend runs at
	// once are running (503, Retry-After).
	ErrBusy = errors.New("too many previews at once")
	// ErrClosed: the hub is closed (503).
	ErrClosed = errors.New("leads: closed")
)

// LeadError is a lead refused, and where: its line in a bulk request
// (0 otherwise), the JSON Pointer of the problem in it ("" for the whole
// document), and its id when known. It wraps its kind (ErrBadLead,
// ErrLeadTooLarge, ErrProjectFull) and the cause.
type LeadError struct {
	Line  int
	ID    string
	Path  string
	Kind  error
	Cause error
}

func (e *LeadError) Error() string {
	s := e.Kind.Error()
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Line > 0 {
		s = fmt.Sprintf("line %d: %s", e.Line, s)
	}
	return s
}

func (e *LeadError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// BulkError ends a bulk request early: too many leads (ErrTooManyLeads),
// too many bytes (ErrBulkTooLarge), a body that could not be read, or a
// store that failed. Line is the first line not applied: every line
// before it is in Report, accepted (stored and indexed) or rejected
// (listed in Report.Errors, unless truncated); no line from Line on was
// stored, so resending the body from Line on loses and repeats nothing.
type BulkError struct {
	Report Report
	// Line is the first line not applied (the request stopped there).
	Line int
	Err  error
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("line %d: %v (lines before it: %d accepted and stored, %d rejected; none from it on stored)", e.Line, e.Err, e.Report.Accepted, e.Report.Rejected)
}

func (e *BulkError) Unwrap() error { return e.Err }

// LoadError is a project whose leads could not be loaded: Err is the
// cause (logged, not for clients); no load is tried again before Retry
// has passed. It wraps ErrUnavailable and Err.
type LoadError struct {
	Project string
	Retry   time.Duration
	Err     error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("loading the leads of project %s: %v (retried in %v at the earliest)", e.Project, e.Err, e.Retry)
}

func (e *LoadError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// RetryAfter is how long before the project's load is tried again.
func (e *LoadError) RetryAfter() time.Duration { return e.Retry }
