//go:build unix

package keytable

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// guard is memory between two inaccessible pages: a string placed at
// its start or its end faults on a load past either of its ends.
type guard struct{ mem []byte }

func newGuard(t testing.TB, max int) *guard {
	t.Helper()
	ps := syscall.Getpagesize()
	size := (max/ps + 3) * ps
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if syscall.Mprotect(mem[:ps], syscall.PROT_NONE) != nil || syscall.Mprotect(mem[size-ps:], syscall.PROT_NONE) != nil {
		t.Skip("mprotect failed")
	}
	return &guard{mem[ps : size-ps]}
}

// place copies s against the guard's end (atEnd) or start; the result is
// valid until the next place.
func (g *guard) place(s string, atEnd bool) string {
	if len(s) == 0 {
		return ""
	}
	at := 0
	if atEnd {
		at = len(g.mem) - len(s)
	}
	copy(g.mem[at:], s)
	return unsafe.String(&g.mem[at], len(s))
}

var attackLens = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 100, 1 << 16}

// TestAttackLengths: tables of keys of every length that changes how
// hash and same load them, each key and its one-byte variants (each
// position) looked up from memory that ends or starts at an inaccessible
// page, on direct and probed tables.
func TestAttackLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + r.IntN(3))
		}
		return string(b)
	}
	for _, shape := range []string{"few", "lookalike", "many"} {
		var keys []string
		seen := map[string]int32{}
		add := func(k string) {
			if _, ok := seen[k]; !ok {
				seen[k] = int32(len(keys))
				keys = append(keys, k)
			}
		}
		for _, n := range attackLens {
			switch shape {
			case "few":
				add(word(n))
			case "lookalike": // same length, first, middle and last byte
				for range 4 {
					w := []byte(word(n))
					if n > 2 {
						w[0], w[n/2], w[n-1] = 'x', 'y', 'z'
					}
					add(string(w))
				}
			case "many":
				for range 60 {
					add(word(n))
				}
			}
		}
		nodes := make([]int32, len(keys))
		for i := range nodes {
			nodes[i] = int32(i) * 3
		}
		tb := New(keys, nodes)
		// the table's own short keys against a guard, too (same loads them)
		for i := range tb.keys {
			if k := tb.keys[i]; k != "" && len(k) <= 64 {
				tb.keys[i] = newGuard(t, len(k)).place(k, i%2 == 0)
			}
		}
		g := newGuard(t, 1<<16+100)
		check := func(k string) {
			want := int32(-1)
			if i, ok := seen[k]; ok {
				want = nodes[i]
			}
			for _, atEnd := range []bool{true, false} {
				if got := tb.Find(g.place(k, atEnd)); got != want {
					t.Fatalf("%s (direct %v): Find(%.40q, len %d) = %d, want %d", shape, tb.direct, k, len(k), got, want)
				}
			}
		}
		for _, k := range keys {
			check(k)
			if len(k) > 64 {
				continue
			}
			for i := range len(k) {
				for _, c := range []byte{0, 'a', 'b', 'x', 0xff} {
					b := []byte(k)
					b[i] = c
					check(string(b))
				}
			}
			check(k + "a")
			if len(k) > 0 {
				check(k[1:])
				check(k[:len(k)-1])
			}
		}
		t.Logf("%s: %d keys, direct %v", shape, len(keys), tb.direct)
	}
}

// probeLen is the longest probe of a probed table's keys.
func probeLen(tb *Table, keys []string) int {
	longest := 0
	for _, k := range keys {
		n := 1
		for j := uint32(tb.hash(k)) & tb.mask; tb.keys[j] != k; j = (j + 1) & tb.mask {
			n++
		}
		longest = max(longest, n)
	}
	return longest
}

// TestAttackProbeLength: key sets an author might choose to collide
// (what quick reads fixed, one byte or one word varying, zero bytes,
// long shared prefixes) at 4,096, 30,000 and 100,000 keys keep probes short, and
// missing keys of the same shapes stop early too.
func TestAttackProbeLength(t *testing.T) {
	shapes := map[string]func(i int) string{
		"quick-fixed": func(i int) string { return fmt.Sprintf("a%06db%06da", i, i) },
		"one-word": func(i int) string {
			return strings.Repeat("\x00", 8) + fmt.Sprintf("%08d", i) + strings.Repeat("\x00", 8)
		},
		"shared-prefix":  func(i int) string { return strings.Repeat("p", 200) + fmt.Sprint(i) },
		"binary-counter": func(i int) string { return string([]byte{byte(i), byte(i >> 8), byte(i >> 16), 0, 0, 0, 0, 0}) },
		"short":          func(i int) string { return string([]byte{byte(i), byte(i >> 8), byte(i >> 16)}) },
	}
	if n := 100000; true { // 100,000 keys once
		keys, nodes := make([]string, n), make([]int32, n)
		for i := range keys {
			keys[i], nodes[i] = shapes["quick-fixed"](i), int32(i)
		}
		tb := New(keys, nodes)
		if l := probeLen(&tb, keys); tb.direct || l > 64 {
			t.Errorf("100,000 keys: direct %v, longest probe %d", tb.direct, l)
		}
	}
	for name, f := range shapes {
		for _, n := range []int{4096, 30000} {
			keys := make([]string, n)
			nodes := make([]int32, n)
			for i := range keys {
				keys[i], nodes[i] = f(i), int32(i)
			}
			tb := New(keys, nodes)
			if tb.direct {
				for i, k := range keys {
					if tb.Find(k) != int32(i) {
						t.Fatalf("%s: Find(%q)", name, k)
					}
				}
				continue
			}
			if l := probeLen(&tb, keys); l > 64 {
				t.Errorf("%s, %d keys: longest probe %d", name, n, l)
			}
			for i := n; i < n+1000; i++ {
				if tb.Find(f(i)) != -1 {
					t.Fatalf("%s: Find(%q) of a missing key", name, f(i))
				}
			}
		}
	}
}

// TestAttackEmptyKeys: the empty key alone, with others, and looked up
// in tables without it; the zero Table.
func TestAttackEmptyKeys(t *testing.T) {
	for _, keys := range [][]string{{""}, {"", "a"}, {"a"}, {"abcd", "abce"}, {"", "\x00"}} {
		nodes := make([]int32, len(keys))
		for i := range nodes {
			nodes[i] = int32(i)
		}
		tb := New(keys, nodes)
		for i, k := range keys {
			if tb.Find(k) != int32(i) {
				t.Errorf("%q: Find(%q) = %d", keys, k, tb.Find(k))
			}
		}
		for _, k := range []string{"", "\x00", "b", "abcf"} {
			want := int32(-1)
			for i, kk := range keys {
				if kk == k {
					want = int32(i)
				}
			}
			if tb.Find(k) != want {
				t.Errorf("%q: Find(%q) = %d, want %d", keys, k, tb.Find(k), want)
			}
		}
	}
	var zero Table
	for _, k := range []string{"", "a", strings.Repeat("z", 17)} {
		if zero.Find(k) != -1 || !zero.Empty() {
			t.Errorf("zero Table: Find(%q) = %d", k, zero.Find(k))
		}
	}
}

// FuzzKeytable: a table of the keys split from the input finds each and
// agrees with a map on the others.
func FuzzKeytable(f *testing.F) {
	f.Add("a,b,c", "b")
	f.Add(",abcdefgh,abcdefghi,abcdefghijklmnopq", "abcdefgh")
	f.Add("axxxa,axxya,a,aa", "axxza")
	f.Fuzz(func(t *testing.T, list, probe string) {
		m := map[string]int32{}
		var keys []string
		var nodes []int32
		for _, k := range strings.Split(list, ",") {
			if _, ok := m[k]; !ok {
				m[k] = int32(len(keys))
				keys, nodes = append(keys, k), append(nodes, int32(len(keys)))
			}
		}
		tb := New(keys, nodes)
		for _, k := range append(keys, probe, probe+"x", "") {
			want := int32(-1)
			if i, ok := m[k]; ok {
				want = nodes[i]
			}
			if got := tb.Find(k); got != want {
				t.Fatalf("Find(%q) = %d, want %d", k, got, want)
			}
		}
	})
}
