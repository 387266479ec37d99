package operators

import (
	"encoding/json"
	"strings"
)

// Semver is a parsed SemVer 2.0.0 version; numbers are kept as digit
// strings so that no size overflows.
type Semver struct {
	major, minor, patch string
	pre                 string // without the "-"; "" for a release
}

// ParseSemver reads SemVer 2.0.0 ("1.2.3", "2.0.0-rc.1+build.5"), and the
// shortened versions "2" and "2.0" for "2.0.0", whose pre-release and
// build metadata are the shortened version's ("2-rc" and "2.0-rc" are
// "2.0.0-rc", as LaunchDarkly reads them). A leading "v" is not SemVer.
// It does not allocate.
func ParseSemver(s string) (Semver, bool) {
	var v Semver
	var ok bool
	v.minor, v.patch = "0", "0"
	if v.major, s, ok = numericPart(s); !ok {
		return v, false
	}
	if s != "" && s[0] == '.' {
		if v.minor, s, ok = numericPart(s[1:]); !ok {
			return v, false
		}
		if s != "" && s[0] == '.' {
			if v.patch, s, ok = numericPart(s[1:]); !ok {
				return v, false
			}
		}
	}
	if s != "" && s[0] == '-' {
		end := strings.IndexByte(s, '+')
		if end < 0 {
			end = len(s)
		}
		v.pre = s[1:end]
		if !identifiers(v.pre, true) {
			return v, false
		}
		s = s[end:]
	}
	if s != "" {
		if s[0] != '+' || !identifiers(s[1:], false) {
			return v, false
		}
	}
	return v, true
}

// numericPart reads a number without leading zeros.
func numericPart(s string) (num, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return "", s, false
	}
	return s[:i], s[i:], true
}

// identifiers checks dot-separated [0-9A-Za-z-]+ identifiers; numeric
// prerelease identifiers have no leading zeros. "a..b" and "a." fail.
func identifiers(s string, pre bool) bool {
	for {
		id, rest, more := strings.Cut(s, ".")
		if id == "" {
			return false
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

func cmpNum(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// Compare orders by SemVer precedence (build metadata ignored).
func (a Semver) Compare(b Semver) int {
	if c := cmpNum(a.major, b.major); c != 0 {
		return c
	}
	if c := cmpNum(a.minor, b.minor); c != 0 {
		return c
	}
	if c := cmpNum(a.patch, b.patch); c != 0 {
		return c
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	x, y := a.pre, b.pre
	for {
		var i, j string
		i, x, _ = strings.Cut(x, ".")
		j, y, _ = strings.Cut(y, ".")
		if c := cmpIdent(i, j); c != 0 {
			return c
		}
		switch {
		case x == "" && y == "":
			return 0
		case x == "":
			return -1
		case y == "":
			return 1
		}
	}
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cmpIdent(a, b string) int {
	na, nb := isNumeric(a), isNumeric(b)
	switch {
	case na && nb:
		return cmpNum(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}

func semverPrep(want func(int) bool) func(a *Arg) (*Scalar, error) {
	return func(a *Arg) (*Scalar, error) {
		var s string
		if len(a.Value) == 0 || json.Unmarshal(a.Value, &s) != nil {
			return nil, a.Errorf("", "want a SemVer string")
		}
		ref, ok := ParseSemver(s)
		if !ok {
			return nil, a.Errorf("", "%q is not SemVer 2.0.0", s)
		}
		return &Scalar{Str: func(s string) bool {
			x, ok := ParseSemver(s)
			return ok && want(x.Compare(ref))
		}}, nil
	}
}

// semver_eq ... semver_lte: SemVer precedence against the value.
var (
	opSemverEq  = &Operator{Name: "semver_eq", PrepareScalar: semverPrep(func(c int) bool { return c == 0 })}
	opSemverGt  = &Operator{Name: "semver_gt", PrepareScalar: semverPrep(func(c int) bool { return c > 0 })}
	opSemverGte = &Operator{Name: "semver_gte", PrepareScalar: semverPrep(func(c int) bool { return c >= 0 })}
	opSemverLt  = &Operator{Name: "semver_lt", PrepareScalar: semverPrep(func(c int) bool { return c < 0 })}
	opSemverLte = &Operator{Name: "semver_lte", PrepareScalar: semverPrep(func(c int) bool { return c <= 0 })}
)
