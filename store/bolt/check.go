package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/bits"
	"os"
	"strings"
)

// ErrCorrupt: the data file is damaged (truncated, overwritten, not a
// bbolt file at all): the store refuses to open it, or, when the damage
// is found later, to write to it. The error is a *CorruptError saying
// where and what.
var ErrCorrupt = errors.New("segment store file is damaged")

// ErrNotStore: the file is a sound bbolt file, but not a segment store
// (it lacks the store's buckets), or of an unknown layout version.
var ErrNotStore = errors.New("not a segment store")

// CorruptError is a damaged data file. It wraps ErrCorrupt and, when
// there is one, the underlying error (bbolt's consistency check
// findings, a record that does not decode).
type CorruptError struct {
	Path    string
	Page    int64  // the page at fault; -1 when not about one page
	Problem string // what is wrong, in words
	Err     error  // the detail, if any
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.Path, ErrCorrupt)
	if e.Page >= 0 {
		fmt.Fprintf(&b, ": page %d", e.Page)
	}
	if e.Problem != "" {
		b.WriteString(": " + e.Problem)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	b.WriteString(" (restore it from a backup; `bbolt check` and `bbolt surgery` may recover part of it)")
	return b.String()
}

func (e *CorruptError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Err}
}

// The bbolt v1 on-disk format (go.etcd.io/bbolt/internal/common), read
// here with bounds checks of our own, before bbolt maps the file: bbolt
// trusts the file, and reading a page beyond its end through the map is
// a fault (SIGBUS) that kills the process.
//
// A page starts with a 16-byte header: id u64, flags u16, count u16,
// overflow u32 (the number of pages that follow it). Pages 0 and 1 are
// the meta pages: after the header, magic u32, version u32, pageSize u32,
// flags u32, root bucket {root page u64, sequence u64}, freelist page
// u64, pgid u64 (the high-water mark: pages [0, pgid) are in use), txid
// u64, checksum u64 (FNV-1a 64 of the meta's bytes before it). Integers
// are in the byte order of the machine that wrote the file.
const (
	pageHeaderSize = 16
	metaSize       = 64
	elementSize    = 16 // a branch or leaf page element
	bucketHeader   = 16 // root page u64, sequence u64

	boltMagic   = 0xED0CDAED
	boltVersion = 2

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	noFreelist = ^uint64(0)

	minPageSize = 512
	maxPageSize = 1 << 24 // the largest bbolt looks for
	maxDepth    = 64      // b+tree levels and nested buckets
)

var order = binary.NativeEndian

// meta is a decoded meta page.
type meta struct {
	magic, version, pageSize uint32
	root, freelist, pgid     uint64
	txid                     uint64
	problem                  string // why it is not valid; "" when it is
}

func readMeta(b []byte) meta {
	if len(b) < pageHeaderSize+metaSize {
		return meta{problem: "missing (the file ends before it)"}
	}
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	h := fnv.New64a()
	_, _ = h.Write(m[:56])
	mt := meta{
		magic: order.Uint32(m[0:]), version: order.Uint32(m[4:]), pageSize: order.Uint32(m[8:]),
		root: order.Uint64(m[16:]), freelist: order.Uint64(m[32:]), pgid: order.Uint64(m[40:]),
		txid: order.Uint64(m[48:]),
	}
	switch {
	case mt.magic != boltMagic:
		mt.problem = "no bbolt magic number"
	case mt.version != boltVersion:
		mt.problem = fmt.Sprintf("bbolt format version %d, not %d", mt.version, boltVersion)
	case order.Uint64(m[56:]) != h.Sum64():
		mt.problem = "checksum mismatch"
	}
	return mt
}

// checker reads a bbolt file with explicit bounds checks.
type checker struct {
	f    *os.File
	path string
	size int64
	ps   int64  // page size
	hwm  uint64 // pages [0, hwm) are in use
	seen []bool // pages reached so far
}

func (c *checker) corrupt(page int64, format string, args ...any) error {
	return &CorruptError{Path: c.path, Page: page, Problem: fmt.Sprintf(format, args...)}
}

// checkFile checks the data file open as f before bbolt maps it: the
// meta pages, that the file holds every page they count, the freelist,
// and every page of the b+trees reachable from the root bucket (types,
// element bounds, references in range and each page reached once), so
// that nothing bbolt will read lies outside the file or outside its page.
// It reads with pread; the file is not mapped.
func checkFile(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c := &checker{f: f, path: path, size: fi.Size()}
	if c.size == 0 {
		// bbolt would initialise an empty file as a new store. Open
		// never leaves one behind (bbolt writes the first pages before
		// Open returns), so an existing empty file is a crash while it
		// was created, or a file emptied by accident: starting afresh on
		// it could hide lost data. It is refused.
		return &CorruptError{Path: path, Page: -1, Problem: "the file is empty (0 bytes), not a store: if no data was lost, remove it and a new store is created"}
	}
	m, err := c.meta()
	if err != nil {
		return err
	}
	c.hwm = m.pgid
	c.seen = make([]bool, c.hwm)
	c.seen[0], c.seen[1] = true, true
	if m.freelist != noFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return err
		}
	}
	return c.tree(m.root, 0, "the root bucket")
}

// meta finds the page size and the meta page bbolt will use (the valid
// one with the greater txid), and checks both valid ones against the
// file's size.
func (c *checker) meta() (meta, error) {
	head := make([]byte, min(c.size, 4096))
	if _, err := c.f.ReadAt(head, 0); err != nil {
		return meta{}, err
	}
	m0 := readMeta(head)
	if m0.problem == "" {
		c.ps = int64(m0.pageSize)
	} else {
		// Find meta 1 as bbolt does: at each possible page size.
		for ps := int64(1024); ps <= maxPageSize && ps < c.size-1024; ps <<= 1 {
			b := make([]byte, pageHeaderSize+metaSize)
			if n, _ := c.f.ReadAt(b, ps); n == len(b) {
				if m := readMeta(b); m.problem == "" {
					c.ps = int64(m.pageSize)
					break
				}
			}
		}
	}
	if c.ps == 0 {
		if m0.magic != boltMagic {
			return meta{}, &CorruptError{Path: c.path, Page: -1, Problem: fmt.Sprintf("no valid meta page in its %d bytes: not a bbolt file, or one whose two meta pages are both destroyed", c.size)}
		}
		return meta{}, c.corrupt(-1, "both meta pages are invalid (meta page 0: %s; meta page 1: not found)", m0.problem)
	}
	if c.ps < minPageSize || c.ps > maxPageSize || bits.OnesCount64(uint64(c.ps)) != 1 {
		return meta{}, c.corrupt(-1, "the meta page records a page size of %d", c.ps)
	}
	metas := [2]meta{m0, {problem: "missing (the file ends before it)"}}
	if c.size >= 2*c.ps {
		b := make([]byte, pageHeaderSize+metaSize)
		if _, err := c.f.ReadAt(b, c.ps); err != nil && err != io.EOF {
			return meta{}, err
		}
		metas[1] = readMeta(b)
	}
	// A crash while a meta page is written leaves it old or new (its
	// header and meta share the first sector); a page header that does
	// not name its page is damage of another kind, which bbolt's check
	// refuses too.
	for i, b := range [][]byte{head, nil} {
		if i == 1 {
			if c.size < 2*c.ps {
				break
			}
			b = make([]byte, pageHeaderSize)
			if _, err := c.f.ReadAt(b, c.ps); err != nil {
				return meta{}, err
			}
		}
		if id := order.Uint64(b); id != uint64(i) {
			return meta{}, c.corrupt(int64(i), "the header of meta page %d names page %d", i, id)
		}
	}
	if metas[0].problem == "" && metas[0].pageSize != uint32(c.ps) {
		metas[0].problem = "page size differs from meta page 1's"
	}
	if metas[1].problem == "" && metas[1].pageSize != uint32(c.ps) {
		metas[1].problem = "page size differs from meta page 0's"
	}
	if metas[0].problem != "" && metas[1].problem != "" {
		return meta{}, c.corrupt(-1, "both meta pages are invalid (meta page 0: %s; meta page 1: %s)", metas[0].problem, metas[1].problem)
	}
	use := 0
	if metas[0].problem != "" || metas[1].problem == "" && metas[1].txid > metas[0].txid {
		use = 1
	}
	// One invalid meta page is what a crash while writing it leaves;
	// bbolt recovers from the other. Every valid one must be sound.
	for i, m := range metas {
		if m.problem != "" {
			continue
		}
		switch {
		case uint64(c.size/c.ps) < m.pgid:
			return meta{}, c.corrupt(-1, "the file is truncated: it holds %d bytes, %d pages of %d bytes, and meta page %d (transaction %d) counts %d pages (%d bytes)",
				c.size, c.size/c.ps, c.ps, i, m.txid, m.pgid, int64(m.pgid)*c.ps)
		case m.root < 2 || m.root >= m.pgid:
			return meta{}, c.corrupt(int64(i), "meta page %d: the root bucket at page %d, outside pages [2, %d)", i, m.root, m.pgid)
		case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid):
			return meta{}, c.corrupt(int64(i), "meta page %d: the freelist at page %d, outside pages [2, %d)", i, m.freelist, m.pgid)
		}
	}
	return metas[use], nil
}

// page reads page id and its overflow pages, checking that they are in
// use, within the file, of type want, reached for the first time, and
// that the header names the page.
func (c *checker) page(id uint64, want uint16, what string) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, c.corrupt(-1, "%s refers to page %d, outside pages [2, %d)", what, id, c.hwm)
	}
	var h [pageHeaderSize]byte
	if _, err := c.f.ReadAt(h[:], int64(id)*c.ps); err != nil {
		return nil, c.corrupt(int64(id), "unreadable: %v", err)
	}
	hid, flags, overflow := order.Uint64(h[0:]), order.Uint16(h[8:]), uint64(order.Uint32(h[12:]))
	switch {
	case hid != id:
		return nil, c.corrupt(int64(id), "the page header names page %d (%s)", hid, what)
	case flags != want:
		return nil, c.corrupt(int64(id), "page type %#x, want %#x (%s)", flags, want, what)
	case id+overflow >= c.hwm:
		return nil, c.corrupt(int64(id), "%d overflow pages run past the %d pages in use", overflow, c.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if c.seen[p] {
			return nil, c.corrupt(int64(p), "reached twice (%s)", what)
		}
		c.seen[p] = true
	}
	b := make([]byte, int64(overflow+1)*c.ps)
	if _, err := c.f.ReadAt(b, int64(id)*c.ps); err != nil {
		return nil, c.corrupt(int64(id), "unreadable: %v", err)
	}
	return b, nil
}

func (c *checker) freelist(id uint64) error {
	b, err := c.page(id, freelistPageFlag, "the freelist")
	if err != nil {
		return err
	}
	start, n := uint64(pageHeaderSize), uint64(order.Uint16(b[10:]))
	if n == 0xFFFF {
		n, start = order.Uint64(b[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > uint64(len(b)) || start+8*n > uint64(len(b)) {
		return c.corrupt(int64(id), "the freelist counts %d pages, more than its page holds", n)
	}
	for i := uint64(0); i < n; i++ {
		if p := order.Uint64(b[start+8*i:]); p < 2 || p >= c.hwm {
			return c.corrupt(int64(id), "the freelist lists page %d, outside pages [2, %d)", p, c.hwm)
		}
	}
	return nil
}

// tree checks the b+tree rooted at page id, and the buckets it holds.
func (c *checker) tree(id uint64, depth int, what string) error {
	if depth > maxDepth {
		return c.corrupt(int64(id), "nested deeper than %d levels (%s)", maxDepth, what)
	}
	var h [pageHeaderSize]byte
	if id >= 2 && id < c.hwm {
		if _, err := c.f.ReadAt(h[:], int64(id)*c.ps); err != nil {
			return c.corrupt(int64(id), "unreadable: %v", err)
		}
	}
	want := uint16(leafPageFlag)
	if order.Uint16(h[8:]) == branchPageFlag {
		want = branchPageFlag
	}
	b, err := c.page(id, want, what)
	if err != nil {
		return err
	}
	if want == branchPageFlag {
		return c.elements(b, int64(id), true, func(_, _ []byte, child uint64, _ uint32) error {
			return c.tree(child, depth+1, fmt.Sprintf("branch page %d", id))
		})
	}
	return c.leaf(b, int64(id), depth)
}

// leaf checks the elements of a leaf page (or inline bucket) b and the
// buckets it holds.
func (c *checker) leaf(b []byte, id int64, depth int) error {
	return c.elements(b, id, false, func(k, v []byte, _ uint64, flags uint32) error {
		if flags&bucketLeafFlag == 0 {
			return nil
		}
		what := fmt.Sprintf("bucket %q on page %d", k, id)
		if len(v) < bucketHeader {
			return c.corrupt(id, "%s: a bucket value of %d bytes", what, len(v))
		}
		root := order.Uint64(v)
		if root != 0 {
			return c.tree(root, depth+1, what)
		}
		inline := v[bucketHeader:]
		if len(inline) < pageHeaderSize || order.Uint16(inline[8:]) != leafPageFlag {
			return c.corrupt(id, "%s: a malformed inline bucket", what)
		}
		if depth+1 > maxDepth {
			return c.corrupt(id, "%s: nested deeper than %d levels", what, maxDepth)
		}
		return c.leaf(inline, id, depth+1)
	})
}

// elements calls fn with each element of a branch or leaf page, after
// checking that the element table and each key and value lie in b.
func (c *checker) elements(b []byte, id int64, branch bool, fn func(k, v []byte, child uint64, flags uint32) error) error {
	n := int(order.Uint16(b[10:]))
	if pageHeaderSize+n*elementSize > len(b) {
		return c.corrupt(id, "%d elements do not fit in the page", n)
	}
	for i := 0; i < n; i++ {
		e := pageHeaderSize + i*elementSize
		var pos, ksize, vsize uint64
		var child uint64
		var flags uint32
		if branch {
			pos, ksize, child = uint64(order.Uint32(b[e:])), uint64(order.Uint32(b[e+4:])), order.Uint64(b[e+8:])
		} else {
			flags = order.Uint32(b[e:])
			pos, ksize, vsize = uint64(order.Uint32(b[e+4:])), uint64(order.Uint32(b[e+8:])), uint64(order.Uint32(b[e+12:]))
		}
		start := uint64(e) + pos
		if start+ksize+vsize > uint64(len(b)) {
			return c.corrupt(id, "element %d (key %d bytes, value %d bytes at +%d) runs past the page", i, ksize, vsize, pos)
		}
		k, v := b[start:start+ksize], b[start+ksize:start+ksize+vsize]
		if err := fn(k, v, child, flags); err != nil {
			return err
		}
	}
	return nil
}
