package filter

import "strconv"

// Bounds on one segment document. A segment is untrusted input (any agent
// of a project may write one), so what it may cost is fixed here and
// reported as ErrTooComplex at the JSON Pointer of the part that exceeds
// it. The operators add their own (operators.MaxRegexProgram,
// operators.MaxExpr, MaxExprNodes and MaxExprNsPerByte), and the compiler one on the whole segment's
// evaluation cost (segmatch.MaxSegmentCost). README "Bounds" lists them
// all.
const (
	// MaxSegmentBytes bounds a segment document as written (the HTTP
	// API's body limit too): 1 MiB.
	MaxSegmentBytes = 1 << 20
	// MaxPathBytes bounds a field path as written, in bytes.
	MaxPathBytes = 512
	// MaxPathSteps bounds the number of steps of a field path.
	MaxPathSteps = 32
)

// tooComplex is an ErrTooComplex detail without a location (ParsePath
// knows no pointer; its callers add one).
type tooComplex string

func (e tooComplex) Error() string { return string(e) }
func (e tooComplex) Unwrap() error { return ErrTooComplex }

// EncodedSize estimates the bytes seg's filters take as a document: what
// MaxSegmentBytes bounds for a segment built in memory rather than
// decoded.
func EncodedSize(fs []Filter) int {
	n := 0
	for i := range fs {
		f := &fs[i]
		n += 48 + len(f.Field) + len(f.Operator) + len(f.Value) + len(f.Match) + EncodedSize(f.Filters)
	}
	return n
}

// checkSize reports a document over MaxSegmentBytes.
func checkSize(n int) *Error {
	if n <= MaxSegmentBytes {
		return nil
	}
	return Errorf("", ErrTooComplex, "the segment is "+strconv.Itoa(n)+" bytes; at most "+strconv.Itoa(MaxSegmentBytes))
}

// CheckSize reports, as an ErrTooComplex *Error at the document's root,
// a segment whose filters exceed MaxSegmentBytes (see EncodedSize).
func CheckSize(fs []Filter) error {
	if e := checkSize(EncodedSize(fs)); e != nil {
		return e
	}
	return nil
}
