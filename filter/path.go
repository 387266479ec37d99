package filter

import (
	"strconv"
	"strings"
)

// Step is one segment of a field path.
type Step struct {
	Key   string // the object key (escapes removed)
	Index int    // Key as an array index when it is decimal, else -1
	Len   bool   // a final unescaped "#": the array's length
}

// Path is a parsed field path. The empty path is the value itself.
type Path []Step

// ParsePath parses a dot path: "a.b", a literal dot written "\.", a
// literal backslash "\\", a final "#" for an array's length (a literal
// "#" key is "\#"). The empty string is the empty path. A path longer
// than MaxPathBytes or MaxPathSteps is an error wrapping ErrTooComplex.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, nil
	}
	if len(s) > MaxPathBytes {
		return nil, tooComplex("the path is " + strconv.Itoa(len(s)) + " bytes; at most " + strconv.Itoa(MaxPathBytes))
	}
	var steps Path
	var b strings.Builder
	escaped := false // the current step contains an escape
	flush := func(last bool) error {
		key := b.String()
		b.Reset()
		if key == "" && !escaped {
			return errorString("empty path segment")
		}
		st := Step{Key: key, Index: -1}
		if !escaped && key == "#" {
			if !last {
				return errorString(`"#" (array length) must be the last segment`)
			}
			st.Len = true
		} else if !escaped && isDecimalIndex(key) {
			st.Index, _ = strconv.Atoi(key)
		}
		if len(steps) == MaxPathSteps {
			return tooComplex("the path has more than " + strconv.Itoa(MaxPathSteps) + " steps")
		}
		steps = append(steps, st)
		escaped = false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 == len(s) {
				return nil, errorString("dangling backslash at the end")
			}
			i++
			b.WriteByte(s[i])
			escaped = true
		case '.':
			if err := flush(false); err != nil {
				return nil, err
			}
		default:
			b.WriteByte(c)
		}
	}
	if err := flush(true); err != nil {
		return nil, err
	}
	return steps, nil
}

// String writes the path back in dot form.
func (p Path) String() string {
	var b strings.Builder
	for i, st := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		if st.Len {
			b.WriteByte('#')
			continue
		}
		// A decimal key that is not an index was written with an escape
		// (`tags.\0`: the member "0", not element 0); keep it so.
		literalDigits := st.Index < 0 && isDecimalIndex(st.Key)
		for j := 0; j < len(st.Key); j++ {
			c := st.Key[j]
			if c == '.' || c == '\\' || (c == '#' && len(st.Key) == 1) || (j == 0 && literalDigits) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isDecimalIndex: digits only, no leading zero (except "0"), fits an int.
func isDecimalIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	if len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

type errorString string

func (e errorString) Error() string { return string(e) }
