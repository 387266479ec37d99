package segmatch

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// CompileError is one problem in a segment, at a JSON Pointer into the
// segment document (e.g. "/filters/2/value"). It wraps one of the sentinel
// errors below; Compile joins every problem it finds with errors.Join.
// Decoding a segment (filter.DecodeSegment, json.Unmarshal) reports the
// same type.
type CompileError = filter.Error

// Sentinels wrapped by every CompileError; branch on them with errors.Is.
var (
	ErrSyntax          = filter.ErrSyntax
	ErrBadShape        = filter.ErrBadShape
	ErrUnknownKey      = filter.ErrUnknownKey
	ErrDuplicateKey    = filter.ErrDuplicateKey
	ErrBadMatch        = filter.ErrBadMatch
	ErrTooDeep         = filter.ErrTooDeep
	ErrBadField        = filter.ErrBadField
	ErrUnknownOperator = filter.ErrUnknownOperator
	ErrBadValue        = filter.ErrBadValue
	ErrTooComplex      = filter.ErrTooComplex
	ErrNoIdentity      = filter.ErrNoIdentity
)

// ErrMalformedContact is wrapped by MatchJSON's error for input that is not
// one well-formed JSON object.
var ErrMalformedContact = rawjson.ErrMalformed

// ErrNotObject is MatchJSON's error for well-formed JSON that is not an
// object.
var ErrNotObject = rawjson.ErrNotObject
