package rawjson

import (
	"math/bits"
	"testing"
)

// TestStops: the lowest flag of stopsValid and stopsSkip is the first
// byte that stops their runs, for every pair of bytes at every position
// of a word of plain filler.
func TestStops(t *testing.T) {
	checkStops(t, "stopsValid", stopsValid, func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 })
	checkStops(t, "stopsSkip", stopsSkip, func(c byte) bool { return c == '"' || c == '\\' })
}

func checkStops(t *testing.T, name string, stops func(uint64) uint64, isStop func(byte) bool) {
	for a := 0; a < 256; a++ {
		for c := 0; c < 256; c++ {
			for pos := 0; pos < 7; pos++ {
				for _, fill := range []byte{'a', 0xff, 0x20} {
					w := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
					w[pos], w[pos+1] = byte(a), byte(c)
					var x uint64
					for k := 7; k >= 0; k-- {
						x = x<<8 | uint64(w[k])
					}
					first := 8
					for k := 7; k >= 0; k-- {
						if isStop(w[k]) {
							first = k
						}
					}
					m := stops(x)
					got := 8
					if m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					if got != first {
						t.Fatalf("%q: first stop %d, %s says %d (%#x)", w, first, name, got, m)
					}
				}
			}
		}
	}
}

func TestPlainASCII(t *testing.T) {
	for _, s := range []string{"", "a", "IT", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnopq", "São Paulo", `a\nb`, "abcdefgh\\", "\\abcdefgh", "abcdefghijklmno\x80", "\x7f\x00\x1f"} {
		want := true
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 || s[i] == '\\' {
				want = false
			}
		}
		if got := PlainASCII(s); got != want {
			t.Errorf("PlainASCII(%q) = %v, want %v", s, got, want)
		}
	}
}
