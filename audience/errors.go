package audience

import (
	"errors"
	"fmt"
)

// Errors of the index, for errors.Is.
var (
	// ErrNoID: the contact has none of the id fields (Options.IDFields),
	// or the id is not a non-empty string or a number.
	ErrNoID = errors.New("contact has no id")
	// ErrTooLarge: the contact is over Options.MaxContactBytes.
	ErrTooLarge = errors.New("contact too large")
	// ErrNotFound: no contact, or no registered segment, has this id.
	ErrNotFound = errors.New("not found")
)

// ContactError is a contact the index refused, and where it was: its
// line in a stream (0 otherwise) and its id when it has one. It wraps
// ErrNoID, ErrTooLarge or MatchJSON's ErrMalformedContact / ErrNotObject.
type ContactError struct {
	Line int
	ID   string
	Err  error
}

func (e *ContactError) Error() string {
	switch {
	case e.Line > 0 && e.ID != "":
		return fmt.Sprintf("line %d (contact %s): %v", e.Line, e.ID, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	case e.ID != "":
		return fmt.Sprintf("contact %s: %v", e.ID, e.Err)
	}
	return e.Err.Error()
}

func (e *ContactError) Unwrap() error { return e.Err }
