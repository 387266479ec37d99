package worker

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmatch/segmatch/audience"
	"github.com/tidwall/gjson"
)

// What a contact change carries besides the contact (defaults of
// Options.VersionField and the deletion marker).
const (
	DefaultVersionField = "_version"
	DeletedField        = "_deleted"
)

// DefaultIDFields are where a contact's id is read, the first that is a
// non-empty string or a number (audience.ContactID: the audience index's
// fields and order).
var DefaultIDFields = audience.DefaultIDFields

// ContactError is a contact line that cannot be applied: it goes to the
// dead-letter subject with this error.
type ContactError struct {
	Line   int // 1-based line in the message
	Reason string
}

func (e *ContactError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ErrBadContact is matched by every *ContactError.
var ErrBadContact = errors.New("bad contact")

func (e *ContactError) Is(target error) bool { return target == ErrBadContact }

// MaxContactBytes bounds one contact line.
const MaxContactBytes = 1 << 20

// Parsed is one contact line: its id, version, and whether it deletes.
type Parsed struct {
	ID      string
	Version int64
	Deleted bool
}

// ParseContact reads a contact line's id and version (and the deletion
// marker `"_deleted": true`). It checks the line looks like one JSON
// object; the worker also has the engine read it (the engine's verdict
// on malformed JSON is the one that counts).
func ParseContact(line []byte, idFields []string, versionField string) (Parsed, error) {
	var p Parsed
	if len(line) > MaxContactBytes {
		return p, errors.New("contact over 1 MiB")
	}
	t := bytes.Trim(line, jsonSpace)
	if len(t) == 0 || t[0] != '{' || !gjson.ValidBytes(t) {
		return p, errors.New("malformed contact: not one JSON object")
	}
	if len(idFields) == 0 {
		idFields = DefaultIDFields
	}
	if versionField == "" {
		versionField = DefaultVersionField
	}
	if p.ID, _ = audience.ContactID(t, idFields); p.ID == "" {
		return p, fmt.Errorf("no id (none of %v is a non-empty string or a number)", idFields)
	}
	v := gjson.GetBytes(t, gjson.Escape(versionField))
	if v.Type != gjson.Number {
		return p, fmt.Errorf("no version (%q must be an integer)", versionField)
	}
	n, err := strconv.ParseInt(v.Raw, 10, 64)
	if err != nil || n < 0 {
		return p, fmt.Errorf("bad version %s (%q must be an integer from 0 to 2^63-1)", v.Raw, versionField)
	}
	p.Version = n
	p.Deleted = gjson.GetBytes(t, DeletedField).Type == gjson.True
	return p, nil
}

// jsonSpace is JSON's whitespace (bytes.TrimSpace trims more: \v, \f,
// U+0085, U+00A0, which JSON does not allow).
const jsonSpace = " \t\r\n"

// lines splits a message into its non-blank lines, with their numbers.
func lines(data []byte, f func(n int, line []byte)) {
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		if len(bytes.Trim(line, jsonSpace)) == 0 {
			continue
		}
		f(n, line)
	}
}
