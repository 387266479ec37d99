//go:build unix

package rawjson

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestAttackPlainASCII: every length 0..40, plain or with one byte that
// is not (0x80, 0xff, '\\') at each position, the string against an
// inaccessible page after it and before it (a load past either end
// faults), against a byte-at-a-time reference.
func TestAttackPlainASCII(t *testing.T) {
	ps := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(mem)
	if syscall.Mprotect(mem[:ps], syscall.PROT_NONE) != nil || syscall.Mprotect(mem[2*ps:], syscall.PROT_NONE) != nil {
		t.Skip("mprotect failed")
	}
	page := mem[ps : 2*ps]
	ref := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 || s[i] == '\\' {
				return false
			}
		}
		return true
	}
	for n := 0; n <= 40; n++ {
		for bad := -1; bad < n; bad++ {
			for _, c := range []byte{0x80, 0xff, '\\', 0x7f, 0, '"'} {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte('a' + i%26)
				}
				if bad >= 0 {
					b[bad] = c
				}
				for _, atEnd := range []bool{true, false} {
					at := 0
					if atEnd {
						at = len(page) - n
					}
					copy(page[at:], b)
					s := ""
					if n > 0 {
						s = unsafe.String(&page[at], n)
					}
					if got, want := PlainASCII(s), ref(s); got != want {
						t.Fatalf("PlainASCII(%q) = %v, want %v", s, got, want)
					}
				}
				if bad < 0 {
					break
				}
			}
		}
	}
}
