package filter

import (
	"errors"
	"strings"
)

// Sentinel errors. Every problem found in a segment wraps exactly one of
// them, so callers branch with errors.Is and never on message text.
var (
	// ErrSyntax: the document is not well-formed JSON.
	ErrSyntax = errors.New("malformed JSON")
	// ErrBadShape: a key holds the wrong JSON type, or a filter is neither
	// a condition nor a group.
	ErrBadShape = errors.New("wrong shape")
	// ErrUnknownKey: a filter carries a key the model does not know
	// (a typo such as "opertor" must not silently widen an audience).
	ErrUnknownKey = errors.New("unknown key")
	// ErrDuplicateKey: a key appears twice in one object of a segment.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrBadMatch: match is neither "all" nor "any".
	ErrBadMatch = errors.New("bad match")
	// ErrTooDeep: groups nest deeper than MaxDepth.
	ErrTooDeep = errors.New("groups nested too deep")
	// ErrBadField: a field path is malformed.
	ErrBadField = errors.New("bad field path")
	// ErrUnknownOperator: the operator is not in the registry.
	ErrUnknownOperator = errors.New("unknown operator")
	// ErrBadValue: the operator cannot use the filter's value.
	ErrBadValue = errors.New("bad value")
	// ErrNoIdentity: a segment among others has neither an id nor a
	// name, so results could not say which one a contact is in.
	ErrNoIdentity = errors.New("a segment needs an _id, an id or a name to be told apart from the others")
	// ErrTooComplex: the segment, or one of its parts, is beyond a
	// documented bound (docs: README "Bounds"): a regex program, an expr
	// cost, a path, the document's size. Untrusted segments must compile
	// and evaluate within bounded time and memory.
	ErrTooComplex = errors.New("too complex")
)

// Error is one problem in a segment document, located by a JSON Pointer
// (RFC 6901) into that document, e.g. "/filters/2/value".
// The root package exposes it as segmatch.CompileError.
type Error struct {
	Path string // JSON Pointer; "" is the whole document
	Err  error  // wraps one of the sentinels above
}

func (e *Error) Error() string {
	p := e.Path
	if p == "" {
		p = "/"
	}
	return p + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Pointer appends one reference token to a JSON Pointer, escaping it.
func Pointer(base string, token string) string {
	if strings.IndexByte(token, '~') >= 0 || strings.IndexByte(token, '/') >= 0 {
		token = strings.ReplaceAll(token, "~", "~0")
		token = strings.ReplaceAll(token, "/", "~1")
	}
	return base + "/" + token
}

// Errorf builds an *Error wrapping sentinel with a detail message.
func Errorf(path string, sentinel error, detail string) *Error {
	if detail == "" {
		return &Error{Path: path, Err: sentinel}
	}
	return &Error{Path: path, Err: detailError{sentinel, detail}}
}

type detailError struct {
	sentinel error
	detail   string
}

func (d detailError) Error() string { return d.sentinel.Error() + ": " + d.detail }
func (d detailError) Unwrap() error { return d.sentinel }
