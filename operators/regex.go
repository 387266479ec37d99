package operators

import (
	"encoding/json"
	"regexp"
)

// MaxRegex is the longest pattern accepted, in bytes.
const MaxRegex = 4096

// regex: an unanchored RE2 search matches the string field (or some
// element of an array field). ignore_case adds (?i).
var opRegex = &Operator{Name: "regex", Aliases: []string{"matches", "=~"}, PrepareScalar: prepareRegex}

func prepareRegex(a *Arg) (*Scalar, error) {
	var pat string
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &pat) != nil {
		return nil, a.Errorf("", "want an RE2 pattern string")
	}
	if len(pat) > MaxRegex {
		return nil, a.Errorf("", "pattern is %d bytes; at most %d", len(pat), MaxRegex)
	}
	if a.IgnoreCase {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, a.Errorf("", "%v", err)
	}
	return &Scalar{Str: re.MatchString}, nil
}
