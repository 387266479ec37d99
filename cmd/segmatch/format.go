package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// The output formats of classify.
const (
	formatJSONL  = "jsonl"
	formatCSV    = "csv"
	formatCounts = "counts"
)

// segmentInfo is what the writers show of a segment: its key (the id in
// results; the name of a segment without an id) and its name.
type segmentInfo struct{ key, name string }

// resultWriter writes classify's results to a buffered stdout.
type resultWriter interface {
	// contact writes one classified contact: its line number, the raw
	// JSON of its id (nil for none; see contactID for which member) and
	// matches[i] for segment i. The slices are valid during the call only.
	contact(line int, id []byte, matches []bool)
	// finish writes what follows the last contact (counts: the table,
	// when complete) and flushes the writer's own buffer into out.
	// counts[i] is the number of contacts in segment i.
	finish(counts []int64, complete bool) error
}

// The writers append to their own buffer, which goes to out when it
// holds more than flushAt bytes, out's size (classify), so that it passes
// through out without a copy. They read a contact's matches eight at a
// time (matchWord): most of a contact's segments are not its own.
const flushAt = 64 << 10

func newResultWriter(format string, out *bufio.Writer, segs []segmentInfo) (resultWriter, error) {
	switch format {
	case formatJSONL:
		return newJSONLWriter(out, segs), nil
	case formatCSV:
		return newCSVWriter(out, segs), nil
	case formatCounts:
		return &countsWriter{out: out, segs: segs}, nil
	}
	return nil, fmt.Errorf("--format %q: want jsonl, csv or counts", format)
}

// jsonlWriter writes {"line":N,"id":...,"segments":[keys]} a contact.
//
// The segments' keys are most of a line: each is kept, after its comma,
// as a JSON string in the words of a slot (zero padded), written with
// one store a word, past which the line goes on (the buffer has room for
// a slot past the end); keys longer than a slot are appended instead.
type jsonlWriter struct {
	out   *bufio.Writer
	keys  [][]byte  // `,"key"`: a comma and a JSON string
	slots []keySlot // keys[i] in slots[i], when words > 0
	pairs []keyPair // keys[i] in pairs[i] when words <= 2, padded to whole groups of 8
	words int       // of a slot, 1 to 4; 0 when a key is longer
	room  int       // bytes the keys of a line may take, a slot past them included
	buf   []byte
	tally *tally   // counts the contacts in each segment as it reads their words (countWith)
	acc   []uint64 // where it adds them: tally's, else scratch
}

// countWith makes w count every contact it writes into t, in the pass
// that reads its matches for the line (a second pass over them, tally.add,
// was 2% of classify's time).
func (w *jsonlWriter) countWith(t *tally) { w.tally, w.acc = t, t.acc }

type keySlot struct {
	w [4]uint64
	n int // the key's length
}

// keyPair is a key of up to 16 bytes as it is written, zero padded: the
// common key's loop copies it whole (one 16-byte store) and moves on by n.
type keyPair struct {
	b [16]byte
	n int
}

func newJSONLWriter(out *bufio.Writer, segs []segmentInfo) *jsonlWriter {
	w := &jsonlWriter{out: out, keys: make([][]byte, len(segs))}
	longest := 0
	for i, s := range segs {
		w.keys[i] = append([]byte{','}, quote(s.key)...)
		longest = max(longest, len(w.keys[i]))
		w.room += len(w.keys[i]) // all of them, appended
	}
	if longest <= 8*len(keySlot{}.w) {
		w.words = (longest + 7) / 8
		w.room = (len(segs) + 1) * 8 * w.words
		w.slots = make([]keySlot, len(segs))
		for i, k := range w.keys {
			var b [8 * len(keySlot{}.w)]byte
			copy(b[:], k)
			for j := range w.slots[i].w {
				w.slots[i].w[j] = binary.LittleEndian.Uint64(b[8*j:])
			}
			w.slots[i].n = len(k)
		}
	}
	if w.words > 0 && w.words <= 2 {
		w.pairs = make([]keyPair, (len(segs)+7)/8*8)
		for i, k := range w.keys {
			w.pairs[i].n = copy(w.pairs[i].b[:], k)
		}
		w.room = (len(segs) + 1) * len(keyPair{}.b)
	}
	w.buf = make([]byte, 0, flushAt+w.lineRoom(nil))
	w.acc = make([]uint64, (len(segs)+7)/8)
	return w
}

// lineRoom bounds the length of a line with this id, plus a slot.
func (w *jsonlWriter) lineRoom(id []byte) int {
	return len(`{"line":,"id":,"segments":[]}`+"\n") + 20 + len(id) + w.room
}

func (w *jsonlWriter) contact(line int, id []byte, matches []bool) {
	b := slices.Grow(w.buf, w.lineRoom(id))
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(line), 10)
	if id != nil {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	b = append(b, `,"segments":`...)
	list := len(b) // where the first key's comma goes, to be the '['
	n, full := len(b), b[:cap(b)]
	acc := w.acc[:(len(matches)+7)/8]
	if w.pairs != nil && len(w.pairs) >= len(matches) && cap(full)-n >= 16*(len(matches)+1) { // keys of up to 16 bytes: their own loop
		// One bounds check a group of 8 segments, none a key: each key
		// is one 16-byte store at n (the room is checked above: the line
		// has room for every key and one more), then n moves on by its
		// length, the next key overwriting the padding.
		// pairs holds whole groups (newJSONLWriter pads it), as many as
		// acc has words: group j is at j*8 pairs.
		at, pairs := unsafe.Pointer(unsafe.SliceData(full)), unsafe.Pointer(unsafe.SliceData(w.pairs))
		for j := range acc {
			m := matchWord(matches, 8*j)
			acc[j] += m
			group := (*[8]keyPair)(unsafe.Add(pairs, uintptr(j)*unsafe.Sizeof([8]keyPair{})))
			for ; m != 0; m &= m - 1 {
				k := &group[bits.TrailingZeros64(m)/8]
				*(*[16]byte)(unsafe.Add(at, n)) = k.b
				n += k.n
			}
		}
		w.buf = w.endLine(full, list, n)
		w.tally.added()
		return
	}
	for base := 0; base < len(matches); base += 8 {
		// byte k of m is 1 for a match: m &= m-1 clears it
		m := matchWord(matches, base)
		acc[base/8] += m
		for ; m != 0; m &= m - 1 {
			i := base + bits.TrailingZeros64(m)/8
			switch w.words {
			case 0:
				n += copy(full[n:], w.keys[i])
			case 1: // one bounds check a key: d's length is known
				s := &w.slots[i]
				binary.LittleEndian.PutUint64(full[n:n+8:n+8], s.w[0])
				n += s.n
			case 2:
				s := &w.slots[i]
				d := full[n : n+16 : n+16]
				binary.LittleEndian.PutUint64(d, s.w[0])
				binary.LittleEndian.PutUint64(d[8:], s.w[1])
				n += s.n
			case 3:
				s := &w.slots[i]
				d := full[n : n+24 : n+24]
				binary.LittleEndian.PutUint64(d, s.w[0])
				binary.LittleEndian.PutUint64(d[8:], s.w[1])
				binary.LittleEndian.PutUint64(d[16:], s.w[2])
				n += s.n
			case 4: // a 24-hex ObjectId's `,"…"`: the common key
				s := &w.slots[i]
				d := full[n : n+32 : n+32]
				binary.LittleEndian.PutUint64(d, s.w[0])
				binary.LittleEndian.PutUint64(d[8:], s.w[1])
				binary.LittleEndian.PutUint64(d[16:], s.w[2])
				binary.LittleEndian.PutUint64(d[24:], s.w[3])
				n += s.n
			default:
				s := &w.slots[i]
				for j, x := range s.w[:w.words] {
					binary.LittleEndian.PutUint64(full[n+8*j:], x)
				}
				n += s.n
			}
		}
	}
	w.buf = w.endLine(full, list, n)
	w.tally.added()
}

// endLine closes a line's list of keys (the first key's comma at list
// becomes its '[') and hands the buffer on.
func (w *jsonlWriter) endLine(full []byte, list, n int) []byte {
	b := full[:n]
	if n == list {
		b = append(b, '[')
	} else {
		b[list] = '['
	}
	b = append(b, "]}\n"...)
	return flushFull(w.out, b)
}

func (w *jsonlWriter) finish([]int64, bool) error {
	w.out.Write(w.buf) // errors surface at out's Flush
	w.buf = w.buf[:0]
	return nil
}

// flushFull writes b to out once it holds more than flushAt bytes (then
// out, empty, hands it to its writer at once), and returns what to
// append to next. A write error stays in out (bufio.Writer keeps it), to
// be reported when out is flushed.
func flushFull(out *bufio.Writer, b []byte) []byte {
	if len(b) <= flushAt {
		return b
	}
	out.Write(b)
	return b[:0]
}

// matchWord is matches[base:base+8] as a word, matches[base+k] in its
// byte k (0 or 1; 0 past the end).
func matchWord(matches []bool, base int) uint64 {
	// A bool is one byte, 0 or 1.
	bs := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(matches))), len(matches))[base:]
	if len(bs) >= 8 {
		return binary.LittleEndian.Uint64(bs)
	}
	var x uint64
	for k, b := range bs {
		x |= uint64(b) << (8 * k)
	}
	return x
}

// csvWriter writes a spreadsheet: a header row `line,id,<segment>...`,
// then one row a contact with 1 or 0 under each segment, so that a
// segment's column can be filtered on and summed. A segment's column is
// headed by its name, or its key when the name is empty or not unique.
// Fields are written as encoding/csv writes them (appendCSVField).
type csvWriter struct {
	out *bufio.Writer
	buf []byte
}

func newCSVWriter(out *bufio.Writer, segs []segmentInfo) *csvWriter {
	w := &csvWriter{out: out, buf: make([]byte, 0, flushAt+2*len(segs)+1<<10)}
	b := append(w.buf, "line,id"...)
	for _, name := range columnNames(segs) {
		b = append(b, ',')
		b = appendCSVField(b, name)
	}
	w.buf = append(b, '\n')
	return w
}

// columnNames heads each segment's column with its name, or its key when
// the name is empty or shared (with another segment, or with the line
// and id columns).
func columnNames(segs []segmentInfo) []string {
	uses := map[string]int{"line": 1, "id": 1}
	for _, s := range segs {
		uses[s.name]++
	}
	names := make([]string, len(segs))
	for i, s := range segs {
		names[i] = s.name
		if s.name == "" || uses[s.name] > 1 {
			names[i] = s.key
		}
	}
	return names
}

func (w *csvWriter) contact(line int, rawID []byte, matches []bool) {
	id := idText(rawID)
	b := slices.Grow(w.buf, 20+2*len(id)+2+2*len(matches)+16+1)
	b = strconv.AppendInt(b, int64(line), 10)
	b = append(b, ',')
	b = appendCSVField(b, id)
	// ",1" or ",0" a segment, sixteen bytes for eight segments
	n, full := len(b), b[:cap(b)]
	for base := 0; base < len(matches); base += 8 {
		m := matchWord(matches, base)
		binary.LittleEndian.PutUint64(full[n:], csvCells(m&0xffffffff))
		binary.LittleEndian.PutUint64(full[n+8:], csvCells(m>>32))
		n += 16
	}
	b = append(full[:len(b)+2*len(matches)], '\n')
	w.buf = flushFull(w.out, b)
}

// csvCells is the eight bytes ",m0,m1,m2,m3" of the four matches in the
// low bytes of m (each 0 or 1).
func csvCells(m uint64) uint64 {
	m = (m | m<<16) & 0x0000ffff0000ffff // bytes 0, 1, 4, 5
	m = (m | m<<8) & 0x00ff00ff00ff00ff  // bytes 0, 2, 4, 6
	return m<<8 | 0x302c302c302c302c     // after a comma each, '0' + m
}

func (w *csvWriter) finish([]int64, bool) error {
	w.out.Write(w.buf) // errors surface at out's Flush
	w.buf = w.buf[:0]
	return nil
}

// appendCSVField appends field as encoding/csv's Writer (comma ',', LF
// line ends) writes it: quoted, with its quotes doubled, when it holds a
// comma, a quote, CR or LF, starts with a space (unicode.IsSpace) or is
// `\.`; as it is otherwise.
func appendCSVField[T string | []byte](dst []byte, field T) []byte {
	if !csvNeedsQuotes(field) {
		return append(dst, field...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(field); i++ {
		if field[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, field[i])
	}
	return append(dst, '"')
}

func csvNeedsQuotes[T string | []byte](field T) bool {
	if len(field) == 0 {
		return false
	}
	if string(field) == `\.` {
		return true
	}
	for i := 0; i < len(field); i++ {
		switch field[i] {
		case '\n', '\r', '"', ',':
			return true
		}
	}
	if c := field[0]; c < utf8.RuneSelf {
		return unicode.IsSpace(rune(c))
	}
	r1, _ := utf8.DecodeRuneInString(string(field[:min(len(field), utf8.UTFMax)]))
	return unicode.IsSpace(r1)
}

// idText is a contact id as a spreadsheet cell: a string's text, a
// number's digits, empty when there is none. It is a part of id unless
// the string has escapes or is not UTF-8 (then a decoded copy).
func idText(id []byte) []byte {
	if len(id) >= 2 && id[0] == '"' {
		if s := id[1 : len(id)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			return s // what json.Unmarshal would make of it
		}
		var s string
		if json.Unmarshal(id, &s) == nil {
			return []byte(s)
		}
	}
	return id
}

// countsWriter writes, at the end of a complete run, a tab-separated
// table: a header `segment_id<TAB>name<TAB>contacts`, then one row a
// segment in the segments' order. Tabs and line breaks in a name become
// spaces.
type countsWriter struct {
	out  *bufio.Writer
	segs []segmentInfo
}

func (w *countsWriter) contact(int, []byte, []bool) {}

func (w *countsWriter) finish(counts []int64, complete bool) error {
	if !complete { // a partial count would read as a result
		return nil
	}
	w.out.WriteString("segment_id\tname\tcontacts\n")
	for i, s := range w.segs {
		fmt.Fprintf(w.out, "%s\t%s\t%d\n", cell(s.key), cell(s.name), counts[i])
	}
	return nil
}

var cellReplacer = strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ")

// cell keeps a table cell on its line and in its column.
func cell(s string) string { return cellReplacer.Replace(s) }

// quote encodes a segment key as a JSON string, leaving <, > and &
// as they are.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a key comes from a decoded segment: valid UTF-8, always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}
