package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
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
	// JSON of its id (nil when it has none) and matches[i] for segment i.
	contact(line int, id []byte, matches []bool)
	// finish writes what follows the last contact (counts: the table,
	// when complete) and flushes the writer's own buffer into out.
	// counts[i] is the number of contacts in segment i.
	finish(counts []int64, complete bool) error
}

func newResultWriter(format string, out *bufio.Writer, segs []segmentInfo) (resultWriter, error) {
	switch format {
	case formatJSONL:
		w := &jsonlWriter{out: out, keys: make([][]byte, len(segs))}
		for i, s := range segs {
			w.keys[i] = quote(s.key)
		}
		return w, nil
	case formatCSV:
		return newCSVWriter(out, segs), nil
	case formatCounts:
		return &countsWriter{out: out, segs: segs}, nil
	}
	return nil, fmt.Errorf("--format %q: want jsonl, csv or counts", format)
}

// jsonlWriter writes {"line":N,"id":...,"segments":[keys]} a contact.
type jsonlWriter struct {
	out  *bufio.Writer
	keys [][]byte // JSON strings
	num  [20]byte
}

func (w *jsonlWriter) contact(line int, id []byte, matches []bool) {
	out := w.out
	out.WriteString(`{"line":`)
	out.Write(strconv.AppendInt(w.num[:0], int64(line), 10))
	if id != nil {
		out.WriteString(`,"id":`)
		out.Write(id)
	}
	out.WriteString(`,"segments":[`)
	first := true
	for i, m := range matches {
		if !m {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		out.Write(w.keys[i])
	}
	out.WriteString("]}\n")
}

func (w *jsonlWriter) finish([]int64, bool) error { return nil }

// csvWriter writes a spreadsheet: a header row `line,id,<segment>...`,
// then one row a contact with 1 or 0 under each segment, so that a
// segment's column can be filtered on and summed. A segment's column is
// headed by its name, or its key when the name is empty or not unique.
type csvWriter struct {
	w   *csv.Writer
	row []string
}

func newCSVWriter(out *bufio.Writer, segs []segmentInfo) *csvWriter {
	w := &csvWriter{w: csv.NewWriter(out), row: make([]string, 2+len(segs))}
	w.row[0], w.row[1] = "line", "id"
	copy(w.row[2:], columnNames(segs))
	_ = w.w.Write(w.row) // errors surface at Flush (finish)
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

func (w *csvWriter) contact(line int, id []byte, matches []bool) {
	w.row[0] = strconv.Itoa(line)
	w.row[1] = idText(id)
	for i, m := range matches {
		if m {
			w.row[2+i] = "1"
		} else {
			w.row[2+i] = "0"
		}
	}
	_ = w.w.Write(w.row)
}

func (w *csvWriter) finish([]int64, bool) error {
	w.w.Flush()
	return w.w.Error()
}

// idText is a contact id as a spreadsheet cell: a string's text, a
// number's digits, empty when there is none.
func idText(id []byte) string {
	if len(id) > 0 && id[0] == '"' {
		var s string
		if json.Unmarshal(id, &s) == nil {
			return s
		}
	}
	return string(id)
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

// contactID is the raw JSON of the contact's id: lead_id, else _id, else
// id, the first that is a string or a number; nil when there is none.
func contactID(line []byte) []byte {
	for _, k := range []string{"lead_id", "_id", "id"} {
		v := gjson.GetBytes(line, k)
		if v.Type == gjson.String || v.Type == gjson.Number {
			return []byte(v.Raw)
		}
	}
	return nil
}

// quote encodes a segment key as a JSON string, leaving <, > and &
// as they are.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a key comes from a decoded segment: valid UTF-8, always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}
