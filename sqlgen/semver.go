package sqlgen

import (
	"fmt"
	"regexp"
	"strings"
)

var semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?)?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)

// SemverKey is segmatch_semver_key in Go: a string whose byte order is
// SemVer precedence (operators.ParseSemver's reading), false when s is
// not SemVer.
func SemverKey(s string) (string, bool) {
	m := semverRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	num := func(d string) string {
		if d == "" {
			d = "0"
		}
		return fmt.Sprintf("%010d", len(d)) + d
	}
	k := num(m[1]) + num(m[2]) + num(m[3])
	if m[4] == "" {
		return k + "\x03", true
	}
	k += "\x02"
	for _, id := range strings.Split(m[4], ".") {
		numeric := strings.Trim(id, "0123456789") == ""
		if numeric {
			if len(id) > 1 && id[0] == '0' {
				return "", false
			}
			k += "\x02" + num(id)
		} else {
			k += "\x03" + id + "\x01"
		}
	}
	return k + "\x01", true
}
