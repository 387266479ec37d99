package plan

import (
	"strings"
	"testing"
)

// TestAffixes: the trie marks exactly the conditions whose prefix (or
// suffix) a value has, including the empty affix, a node with more
// children than it scans (a table), and affixes longer than the value.
func TestAffixes(t *testing.T) {
	affs := []string{"", "a", "ab", "abc", "b", "zzzz", "Mi", "Mil", "São"}
	for c := 'c'; c <= 'y'; c++ { // the root gets more than affixScan children
		affs = append(affs, string(c)+"x")
	}
	values := []string{"", "a", "abc", "abcd", "bab", "Milano", "São Paulo", "qx", "xq", "zz", "cxc", "ba"}
	for _, suffix := range []bool{false, true} {
		var a affixes
		for id, s := range affs {
			a.add(s, int32(id))
		}
		a.freeze(suffix)
		for _, v := range values {
			memo := make([]uint8, len(affs))
			a.mark(v, suffix, memo)
			for id, s := range affs {
				want := strings.HasPrefix(v, s)
				if suffix {
					want = strings.HasSuffix(v, s)
				}
				if got := memo[id] == decidedTrue; got != want {
					t.Errorf("suffix %v: %q has %q: %v, want %v", suffix, v, s, got, want)
				}
			}
		}
	}
	var none affixes
	none.freeze(false)
	none.mark("abc", false, nil)
}
