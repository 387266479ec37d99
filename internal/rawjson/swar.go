package rawjson

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Strings are scanned eight bytes at a time (str: sixteen while the
// string lasts): a word is searched for the bytes that end or interrupt a
// string's plain run at once, with the classic "has a zero byte" bit
// trick. Words are read little-endian whatever the machine, so that the
// lowest flag is the first byte.

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// zeroBytes flags (in each byte's top bit) the bytes of x that are zero;
// the lowest flag is exact (higher ones may be false after it).
func zeroBytes(x uint64) uint64 { return (x - lo8) &^ x & hi8 }

// stopsValid flags '"', '\\' and control bytes (< 0x20), which end a
// plain run of a string being validated; the lowest flag is exact. The
// first two tests are one: x^0x02 maps the control bytes onto themselves
// and '"' onto 0x20, so they are exactly the bytes of x^0x02 below 0x21.
func stopsValid(x uint64) uint64 {
	y := x ^ (lo8 * 0x02)
	return ((y-lo8*0x21)&^y | zeroBytes(x^(lo8*'\\'))) & hi8
}

// stopsSkip flags '"' and '\\', which end a plain run of a string being
// skipped (already validated).
func stopsSkip(x uint64) uint64 { return zeroBytes(x^(lo8*'"')) | zeroBytes(x^(lo8*'\\')) }

// plainRunString returns how many bytes from i are plain string content
// of a string being skipped: only '"' and '\\' stop.
func plainRunString(s string, i int) int {
	start := i
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	for len(b)-i >= 8 {
		if m := stopsSkip(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i - start + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(s) && s[i] != '"' && s[i] != '\\' {
		i++
	}
	return i - start
}

// PlainASCII reports whether s is ASCII without a backslash: the text of
// a JSON string that is its own decoding (no escape to decode, no invalid
// UTF-8 to replace), checked eight bytes at a time.
func PlainASCII(s string) bool {
	n := len(s)
	if n >= 8 {
		p := unsafe.Pointer(unsafe.StringData(s))
		for i := 0; ; i += 8 {
			if i > n-8 {
				i = n - 8 // the last word overlaps the one before
			}
			x := *(*uint64)(unsafe.Add(p, i))
			if x&hi8|zeroBytes(x^(lo8*'\\')) != 0 {
				return false
			}
			if i == n-8 {
				return true
			}
		}
	}
	for i := range n {
		if c := s[i]; c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}
