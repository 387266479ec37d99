package rawjson

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Strings are scanned eight bytes at a time: a word is searched for the
// bytes that end or interrupt a string's plain run at once, with the
// classic "has a zero byte" bit trick.

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// zeroBytes flags (in each byte's top bit) the bytes of x that are zero;
// the lowest flag is exact (higher ones may be false after it).
func zeroBytes(x uint64) uint64 { return (x - lo8) &^ x & hi8 }

// stopsValid flags '"', '\\' and control bytes (< 0x20), which end a
// plain run of a string being validated.
func stopsValid(x uint64) uint64 {
	return zeroBytes(x^(lo8*'"')) | zeroBytes(x^(lo8*'\\')) | ((x - lo8*0x20) &^ x & hi8)
}

// stopsSkip flags '"' and '\\', which end a plain run of a string being
// skipped (already validated).
func stopsSkip(x uint64) uint64 { return zeroBytes(x^(lo8*'"')) | zeroBytes(x^(lo8*'\\')) }

// plainRunBytes returns how many bytes from i are plain string content
// for validation (stopping at the first '"', '\\' or control byte).
func plainRunBytes(b []byte, i int) int {
	start := i
	for len(b)-i >= 8 {
		if m := stopsValid(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i - start + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i - start
}

// plainRunString is plainRunBytes for skipping: only '"' and '\\' stop.
func plainRunString(s string, i int) int {
	start := i
	for len(s)-i >= 8 {
		x := *(*uint64)(unsafe.Pointer(unsafe.StringData(s[i:])))
		if m := stopsSkip(x); m != 0 {
			return i - start + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(s) && s[i] != '"' && s[i] != '\\' {
		i++
	}
	return i - start
}
