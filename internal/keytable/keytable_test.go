package keytable

import (
	"fmt"
	"strings"
	"testing"
)

// TestFind: both layouts (direct, when quick separates the keys; probed
// otherwise) find exactly the keys they were built from, including the
// empty string, keys quick cannot tell apart (same length and first,
// middle and last byte) and a set too large for a direct table.
func TestFind(t *testing.T) {
	var many []string
	for i := range 3000 {
		many = append(many, fmt.Sprint("k", i))
	}
	sets := []struct {
		name   string
		keys   []string
		direct bool
	}{
		{"enum", []string{"IT", "DE", "FR", "ES", "US", "GB", "web", "ios", "android", ""}, true},
		{"lookalike", []string{"axxxa", "axxya", "a", "aa"}, false},
		{"many", many, false},
		{"one", []string{"country"}, true},
	}
	for _, s := range sets {
		nodes := make([]int32, len(s.keys))
		for i := range nodes {
			nodes[i] = int32(i)
		}
		tb := New(s.keys, nodes)
		if tb.direct != s.direct {
			t.Errorf("%s: direct %v, want %v", s.name, tb.direct, s.direct)
		}
		for i, k := range s.keys {
			if got := tb.Find(k); got != int32(i) {
				t.Errorf("%s: Find(%q) = %d, want %d", s.name, k, got, i)
			}
		}
		for _, k := range []string{"zz", "axxxb", "k3000", strings.Repeat("x", 40)} {
			if got := tb.Find(k); got != -1 {
				t.Errorf("%s: Find(%q) = %d, want -1", s.name, k, got)
			}
		}
	}
	var none Table
	if !none.Empty() || none.Find("x") != -1 {
		t.Error("the zero table is not empty")
	}
}

// TestCollisionsDoNotCluster: keys chosen to share length and their
// first, middle and last bytes (what the direct hash reads) fall back to
// the seeded hash, where the longest probe stays short.
func TestCollisionsDoNotCluster(t *testing.T) {
	var keys []string
	for i := range 2000 {
		keys = append(keys, fmt.Sprintf("a%04dxb%04da", i, i))
	}
	nodes := make([]int32, len(keys))
	for i := range nodes {
		nodes[i] = int32(i)
	}
	tb := New(keys, nodes)
	longest := 0
	for _, k := range keys {
		n := 1
		for j := uint32(tb.hash(k)) & tb.mask; tb.keys[j] != k; j = (j + 1) & tb.mask {
			n++
		}
		longest = max(longest, n)
	}
	if tb.direct || longest > 40 {
		t.Errorf("direct %v, longest probe %d", tb.direct, longest)
	}
}

func TestSame(t *testing.T) {
	words := []string{"", "a", "ab", "abc", "abcd", "abce", "bbcd", "abcdefg", "abcdefh", "abcdefgh", "abcdefgi", "xbcdefgh",
		"abcdefghijklmnop", "abcdefghijklmnoq", "abcdefghXjklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr"}
	for _, a := range words {
		for _, b := range words {
			if got := same(a, b); got != (a == b) {
				t.Errorf("same(%q, %q) = %v", a, b, got)
			}
		}
	}
}
