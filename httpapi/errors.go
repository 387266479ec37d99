package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/keeper"
)

// Request errors found by the handlers themselves (the others come from
// the store, the segment codec and auth).
var (
	errBadJSON       = errors.New("malformed JSON")
	errBadContact    = errors.New("a contact is a JSON object")
	errBadIfMatch    = errors.New("If-Match: want the segment's updatedAt or ETag")
	errTooLarge      = errors.New("request body too large")
	errMediaType     = errors.New("Content-Type must be application/json")
	errRouteNotFound = errors.New("route not found")
	errMethod        = errors.New("method not allowed")
	// errStoredInvalid: a stored segment no longer compiles (it was
	// written before a bound it now exceeds, README "Bounds").
	errStoredInvalid = errors.New("the stored segment no longer compiles")
)

// statusRule maps an error kind to a status and the message the client
// sees. The message never carries internal detail: for a 500 the detail
// goes to the log only.
type statusRule struct {
	kind   error
	status int
	msg    string // "" means the error's own text (caller input problems only)
}

// statusTable is THE table from error kind to HTTP status, checked in
// order with errors.Is. Anything not in it is a 500 "internal error".
var statusTable = []statusRule{
	{auth.ErrQueryToken, http.StatusUnauthorized, "secret_token refused: it is taken once per URL, only where the server allows it (--query-token), over TLS or from loopback; send Authorization: JWT <token>."},
	{auth.ErrUnauthenticated, http.StatusUnauthorized, "Unauthorized"},
	{auth.ErrRateLimited, http.StatusTooManyRequests, "Too many requests."}, // + Retry-After
	{auth.ErrBusy, http.StatusServiceUnavailable, "Service unavailable."},   // + Retry-After
	{auth.ErrNotMember, http.StatusForbidden, "you dont belong to the project."},
	{auth.ErrRole, http.StatusForbidden, "you dont have the required role."},
	{errMediaType, http.StatusUnsupportedMediaType, ""},
	{errTooLarge, http.StatusRequestEntityTooLarge, ""},
	{leads.ErrLeadTooLarge, http.StatusRequestEntityTooLarge, "Lead too large."},
	{leads.ErrTooManyLeads, http.StatusBadRequest, "Too many leads in one request."},
	{leads.ErrBulkTooLarge, http.StatusRequestEntityTooLarge, "Bulk request too large (--max-bulk-bytes): send the lines from stopped_at on in another request."},
	{leads.ErrBadLead, http.StatusBadRequest, "Invalid lead."},
	{leads.ErrProjectFull, http.StatusConflict, "Project lead limit reached: delete leads to make room."},
	{leads.ErrNotIndexed, http.StatusUnprocessableEntity, "The stored segment is beyond the current bounds: update it."},
	{leads.ErrTooManyStreams, http.StatusTooManyRequests, "Too many event streams open for this project."},
	{leads.ErrUnavailable, http.StatusServiceUnavailable, "Service unavailable: the project's leads could not be loaded; retry after Retry-After seconds."}, // + Retry-After
	{leads.ErrRelayed, http.StatusNotImplemented, "Not served by the leads behind this server: save the segment, then read its count and leads."},
	{leads.ErrTooSlow, http.StatusServiceUnavailable, "The preview took too long over the stored contacts: save the segment, then read its count and leads."},
	{leads.ErrBusy, http.StatusServiceUnavailable, "Too many previews running at once; retry after Retry-After seconds, or save the segment and read its count."},   // + Retry-After
	{leads.ErrBackendDown, http.StatusServiceUnavailable, "Service unavailable: the workers' NATS or PostgreSQL does not answer; retry after Retry-After seconds."}, // + Retry-After
	{leads.ErrClosed, http.StatusServiceUnavailable, "Service unavailable."},
	{errBadJSON, http.StatusBadRequest, "Malformed JSON."},
	{filter.ErrSyntax, http.StatusBadRequest, "Malformed JSON."},
	{errBadContact, http.StatusBadRequest, "Invalid contact."},
	{errBadIfMatch, http.StatusBadRequest, ""},
	{errWeakIfMatch, http.StatusPreconditionFailed, "Precondition failed: a weak ETag never matches If-Match."},
	{store.ErrBadParam, http.StatusBadRequest, "Invalid parameter."},
	{store.ErrInvalid, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrBadShape, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrUnknownKey, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrDuplicateKey, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrBadMatch, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrTooDeep, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrBadField, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrUnknownOperator, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrBadValue, http.StatusBadRequest, "Invalid segment."},
	{filter.ErrTooComplex, http.StatusBadRequest, "Invalid segment."},
	{errStoredInvalid, http.StatusUnprocessableEntity, "The stored segment is beyond the current bounds: update it."},
	{store.ErrNotFound, http.StatusNotFound, "Object not found."},
	{errRouteNotFound, http.StatusNotFound, "Not found."},
	{errMethod, http.StatusMethodNotAllowed, "Method not allowed."},
	{store.ErrConflict, http.StatusConflict, "The segment was changed since it was read."},
	{store.ErrLimit, http.StatusUnprocessableEntity, "Project limit reached (segments or their total size): delete segments to make room."},
	{store.ErrClosed, http.StatusServiceUnavailable, "Service unavailable."},
	{keeper.ErrClosed, http.StatusServiceUnavailable, "Service unavailable."},
	{context.Canceled, http.StatusServiceUnavailable, "Service unavailable."},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "Service unavailable."},
}

// problem is one located problem in a request body: its JSON Pointer
// and, in a bulk request, its line.
type problem struct {
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// errorBody is every error answer: Tiledesk's {"success": false, "msg"}
// plus, for a 400 (and a refused lead), the located problems, and, for
// a bulk request ended early (whatever its status), what it did before:
// accepted and rejected count the lines before stopped_at (errors lists
// the rejected ones, then the stop itself at line stopped_at); no line
// from stopped_at on was stored (past one machine, serve --nats, some of
// them may have reached the stream before it failed: sending them again
// is harmless, each is a newer version of the same lead).
type errorBody struct {
	Success         bool      `json:"success"`
	Msg             string    `json:"msg"`
	Errors          []problem `json:"errors,omitempty"`
	Accepted        *int      `json:"accepted,omitempty"`
	Rejected        *int      `json:"rejected,omitempty"`
	ErrorsTruncated bool      `json:"errors_truncated,omitempty"`
	StoppedAt       *int      `json:"stopped_at,omitempty"`
}

// classify returns the status and body for err.
func classify(err error) (int, errorBody) {
	status, body := http.StatusInternalServerError, errorBody{Msg: "internal error"}
	for _, r := range statusTable {
		if !errors.Is(err, r.kind) {
			continue
		}
		status, body = r.status, errorBody{Msg: r.msg}
		if body.Msg == "" {
			body.Msg = r.kind.Error()
		}
		var le *leads.LeadError
		if r.status == http.StatusBadRequest || errors.As(err, &le) {
			body.Errors = problemsOf(err)
		}
		break
	}
	var be *leads.BulkError
	if errors.As(err, &be) {
		body.Accepted, body.Rejected, body.StoppedAt = &be.Report.Accepted, &be.Report.Rejected, &be.Line
		body.ErrorsTruncated = be.Report.ErrorsTruncated
		body.Errors = make([]problem, 0, len(be.Report.Errors)+1)
		for _, e := range be.Report.Errors {
			body.Errors = append(body.Errors, problem{Line: e.Line, Path: e.Path, Message: e.Message})
		}
		// What stopped it: its own words for the client's problems, the
		// status message for the server's (the detail is logged).
		msg := be.Err.Error()
		if status >= 500 {
			msg = body.Msg
		}
		body.Errors = append(body.Errors, problem{Line: be.Line,
			Message: fmt.Sprintf("stopped at line %d: %s; no line from this one on was stored (send them again)", be.Line, msg)})
	}
	return status, body
}

// problemsOf lists the located problems in err: every CompileError (with
// its JSON Pointer), or a bad list parameter.
func problemsOf(err error) []problem {
	var out []problem
	for _, ce := range store.Problems(err) {
		out = append(out, problem{Path: ce.Path, Message: ce.Err.Error()})
	}
	var pe *store.ParamError
	if len(out) == 0 && errors.As(err, &pe) {
		out = append(out, problem{Path: pe.Param, Message: pe.Error()})
	}
	var le *leads.LeadError
	if len(out) == 0 && errors.As(err, &le) {
		out = append(out, problem{Line: le.Line, Path: le.Path, Message: le.Error()})
	}
	var pr *contactError
	if len(out) == 0 && errors.As(err, &pr) {
		out = append(out, problem{Path: pr.path, Message: errBadContact.Error()})
	}
	return out
}

// contactError locates a non-object element of a contacts array.
type contactError struct{ path string }

func (e *contactError) Error() string { return e.path + ": " + errBadContact.Error() }
func (e *contactError) Unwrap() error { return errBadContact }
