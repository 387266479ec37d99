package store

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// MaxNameLen bounds a segment name, in bytes.
const MaxNameLen = 1024

// Validate checks a segment definition (Name, Match, Filters; other fields
// are ignored) and returns it in canonical form: Match defaults to "all",
// Filters is never nil, and it is exactly what the JSON wire format reads
// back (the definition makes a round trip through the codec, so what is
// stored is what every later reader sees).
//
// A definition is valid when it has a name (non-empty UTF-8, at most
// MaxNameLen bytes; Tiledesk requires one too), survives the round trip,
// and compiles with segmatch.Compile. Otherwise the error wraps ErrInvalid
// and every *segmatch.CompileError found (see Problems).
func Validate(def filter.Segment) (filter.Segment, error) {
	seg, _, err := validate(def)
	return seg, err
}

// validate is Validate, also returning the compiled size of the segment
// (segmatch.Program.Size).
func validate(def filter.Segment) (filter.Segment, int64, error) {
	var problems []error
	switch {
	case def.Name == "":
		problems = append(problems, filter.Errorf("/name", filter.ErrBadShape, "a segment needs a name"))
	case !utf8.ValidString(def.Name):
		problems = append(problems, filter.Errorf("/name", filter.ErrBadShape, "string is not valid UTF-8"))
	case len(def.Name) > MaxNameLen:
		problems = append(problems, filter.Errorf("/name", filter.ErrBadShape, "longer than "+strconv.Itoa(MaxNameLen)+" bytes"))
	}
	// The encoder would silently replace invalid UTF-8; refuse it instead.
	problems = checkUTF8(def.Filters, "", problems)
	if len(problems) > 0 {
		return filter.Segment{}, 0, &invalidError{errors.Join(problems...)}
	}
	if def.Match == "" {
		def.Match = filter.All
	}
	raw, err := json.Marshal(filter.Segment{Name: def.Name, Match: def.Match, Filters: def.Filters})
	if err != nil {
		return filter.Segment{}, 0, &invalidError{filter.Errorf("", filter.ErrBadValue, err.Error())}
	}
	seg, err := filter.DecodeSegment(raw)
	if err != nil {
		return filter.Segment{}, 0, &invalidError{err}
	}
	prog, err := segmatch.Compile(seg)
	if err != nil {
		return filter.Segment{}, 0, &invalidError{err}
	}
	// seg.Filters is not nil and seg.Status is 0: the encoder always
	// writes a filters list and the status (0 here), and the decoder
	// reads them back as such.
	return seg, int64(prog.Size()), nil
}

func checkUTF8(fs []filter.Filter, base string, problems []error) []error {
	for i := range fs {
		p := base + "/filters/" + strconv.Itoa(i)
		if !utf8.ValidString(fs[i].Field) {
			problems = append(problems, filter.Errorf(p+"/field", filter.ErrBadShape, "string is not valid UTF-8"))
		}
		if !utf8.ValidString(fs[i].Operator) {
			problems = append(problems, filter.Errorf(p+"/operator", filter.ErrBadShape, "string is not valid UTF-8"))
		}
		problems = checkUTF8(fs[i].Filters, p, problems)
	}
	return problems
}
