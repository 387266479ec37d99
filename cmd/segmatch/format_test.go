package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/sample"
)

// contactLines are contacts to read ids from: the shipped files, the
// sample's leads, the benchmarks' generated contacts and lines written
// to trip a reader up.
func contactLines(t testing.TB) [][]byte {
	var lines [][]byte
	for _, f := range []string{"testdata/contacts.jsonl", "testdata/csv_contacts.jsonl", "testdata/bad_contacts.jsonl", "../../testdata/leads.jsonl"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.Split(raw, []byte("\n"))...)
	}
	_, leads := sample.Generate(7, 200)
	for l := range leads {
		raw, err := l.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, raw)
	}
	g := benchmarks.NewContactGen(benchmarks.DefaultConfig)
	for range 200 {
		lines = append(lines, g.Next(nil))
	}
	for _, s := range []string{
		``, ` `, `{}`, ` { } `, `[]`, `"x"`, `12`, `null`, `{`, `{"lead_id"`, `{"lead_id":`, `{"lead_id":"x"`, `{"lead_id":"x",}`,
		`{"lead_id":"a"}`, `{"lead_id": 12.5e3 }`, `{"lead_id":-0}`, `{"_id":"b","lead_id":"a"}`, `{"id":1,"_id":2}`, `{"id":1}`,
		`{"lead_id":null,"_id":"b"}`, `{"lead_id":true,"id":3}`, `{"lead_id":{"x":1},"id":3}`, `{"lead_id":[1],"_id":"q"}`,
		`{"lead_id":"first","lead_id":"second"}`, `{"lead_id":null,"lead_id":"second","id":9}`, `{"_id":null,"_id":"b"}`,
		`{"x":{"lead_id":"nested"},"id":"top"}`, `{"x":[{"lead_id":"n"}],"_id":"t"}`, `{"x":"{\"lead_id\":\"s\"}","id":1}`,
		`{"lead\u005fid":"escaped key","id":2}`, `{"a\"b":1,"id":"after an escaped quote"}`, `{"id":"with \"quotes\" \\ and \u00e9"}`,
		`{"s":"ends with a backslash \\","id":"x"}`, `{"s":"\\\"","lead_id":"y"}`, "{\n\t\"lead_id\" :\r\n \"spaced\" \n}",
		`{"n":[[[]],{"a":[{}]}],"id":"deep"}`, `{"lead_id":"","id":"empty first"}`, `{"id":"é","_id":"\ud83d\ude00"}`,
		`{"ids":"not this","lead_ids":1,"_idx":2,"Id":3}`, `{"lead_id":"x" "id":1}`, `{"lead_id":"x"}trailing`,
		`{"a":nul,"id":1}`, `{"a":-,"id":1}`, `{"a":tru}`, "{\"lead_id\":\"bad utf8 \xff\"}",
		`{"a":"{[","lead_id":"brackets in a string before"}`, `{"a":"}}]]","x":{"lead_id":1},"lead_id":2}`,
		`{"tags":["lead_id"],"lead_id":"a value first"}`, `{"x":{"_id":1},"id":2}`, `{"x":[{"id":1}],"id":{"y":2},"_id":"z"}`,
		`{"a":{"b":"}"},"_id":"after a brace in a nested string"}`, `{"a":["]"],"lead_id":7}`, `{"lead_id":"x\"y"}`,
		`{"n":"\\","lead_id":"after an escaped backslash"}`, `{"a":"\"{","lead_id":null,"_id":1}`, `{"a":"\"}","lead_id":[],"id":"q"}`,
		`{"x":{"a":"\"","lead_id":null},"lead_id":"top"}`, `{"x":{"lead_id":null},"y":"\"}","lead_id":"z"}`, ` {"id" : -12.5E+3 } `, `{"id":"x","id":"y"}`,
	} {
		lines = append(lines, []byte(s))
	}
	return lines
}

// TestContactIDAsGJSON: contactID, and each of its ways, read every
// valid line's id as the three gjson look-ups did; on invalid lines (the
// engine never hands them over) they return a part of the line or nil.
func TestContactIDAsGJSON(t *testing.T) {
	plain := 0
	for _, line := range contactLines(t) {
		checkContactID(t, line)
		if _, ok := plainContactID(line); ok {
			plain++
		}
	}
	if plain == 0 {
		t.Error("no line read by plainContactID")
	}
}

func checkContactID(t *testing.T, line []byte) {
	t.Helper()
	got := contactID(line)
	if !json.Valid(line) {
		if got != nil && !bytes.Contains(line, got) {
			t.Errorf("contactID(%q) = %q, not a part of the line", line, got)
		}
		return
	}
	want := gjsonContactID(line)
	same := func(id []byte) bool { return bytes.Equal(id, want) && (id == nil) == (want == nil) }
	if !same(got) {
		t.Errorf("contactID(%s) = %q; gjson reads %q", line, got, want)
	}
	if id, ok := plainContactID(line); ok && !same(id) {
		t.Errorf("plainContactID(%s) = %q; gjson reads %q", line, id, want)
	}
	if id, ok := scanContactID(line); ok && !same(id) {
		t.Errorf("scanContactID(%s) = %q; gjson reads %q", line, id, want)
	}
	// what classify writes: the members the engine captured in its pass
	res := idEngine.NewResult()
	if idEngine.ClassifyJSONInto(line, res) == nil {
		if id := capturedID(res); !same(id) {
			t.Errorf("capturedID(%s) = %q; gjson reads %q", line, id, want)
		}
	}
}

// idEngine captures the id members as classify's does (its one segment
// reads one of them, so that a captured member is also a condition's).
var idEngine = func() *engine.Engine {
	seg := filter.Segment{ID: "s", Filters: []filter.Filter{filter.CondNoValue("_id", "is_set")}}
	e, err := engine.New([]filter.Segment{seg}, segmatch.WithCapture(idKeys[:]...))
	if err != nil {
		panic(err)
	}
	return e
}()

func FuzzContactID(f *testing.F) {
	for _, line := range contactLines(f) {
		f.Add(line)
	}
	f.Fuzz(checkContactID)
}

// TestCSVFieldAsEncodingCSV: appendCSVField writes a field byte for byte
// as encoding/csv does.
func TestCSVFieldAsEncodingCSV(t *testing.T) {
	fields := []string{"", " ", "a", "a b", " a", "\ta", "\u00a0a", "\u2003a", "a ", `\.`, `\.x`, `\`, `"`, `a"b`, `""`, ",", "a,b",
		"\r", "\n", "a\r\nb", "\x85x", "é", "\xff", "line", "id", "Germany\ttab", `VIPs, "Italy"`}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", " ", ",", `"`, "\r", "\n", "\t", `\`, ".", "é", "\u00a0", "\xff", "1"}
	for range 2000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		fields = append(fields, b.String())
	}
	for _, f := range fields {
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		if err := w.Write([]string{f}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got := append(appendCSVField(nil, f), '\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendCSVField(%q) = %q; encoding/csv writes %q", f, got, want.Bytes())
		}
		if got2 := append(appendCSVField(nil, []byte(f)), '\n'); !bytes.Equal(got2, got) {
			t.Errorf("appendCSVField([]byte(%q)) = %q; the string's is %q", f, got2, got)
		}
	}
}

// TestIDText: a string id's text as json.Unmarshal decodes it.
func TestIDText(t *testing.T) {
	for _, id := range []string{`"plain"`, `""`, `"a\"b"`, `"\u00e9\n"`, "\"bad \xff utf8\"", `"é"`, `42`, `-1.5e3`} {
		want := id
		if id[0] == '"' {
			var s string
			if err := json.Unmarshal([]byte(id), &s); err != nil {
				t.Fatal(err)
			}
			want = s
		}
		if got := string(idText([]byte(id))); got != want {
			t.Errorf("idText(%s) = %q; want %q", id, got, want)
		}
	}
	if got := idText(nil); len(got) != 0 {
		t.Errorf("idText(nil) = %q", got)
	}
	if got := string(idText([]byte(`"`))); got != `"` { // not JSON: as it is, as before
		t.Errorf("idText(%q) = %q", `"`, got)
	}
}

// TestTally: the counts of the segments are the contacts' matches
// added up, across flushes, for any number of segments.
func TestTally(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 64, 70, 200} {
		counts := make([]int64, n)
		want := make([]int64, n)
		tl := newTally(counts)
		for range 1000 {
			m := make([]bool, n)
			for i := range m {
				if m[i] = r.IntN(3) > 0; m[i] {
					want[i]++
				}
			}
			tl.add(m)
		}
		tl.flush()
		if !slices.Equal(counts, want) {
			t.Errorf("%d segments: counts %v; want %v", n, counts, want)
		}
	}
}

func TestMatchWord(t *testing.T) {
	m := []bool{true, false, false, true, false, false, false, true, true, false, true}
	if got, want := matchWord(m, 0), uint64(0x01_00_00_00_01_00_00_01); got != want {
		t.Errorf("matchWord(m, 0) = %#x; want %#x", got, want)
	}
	if got, want := matchWord(m, 8), uint64(0x01_00_01); got != want {
		t.Errorf("matchWord(m, 8) = %#x; want %#x", got, want)
	}
}

// TestWriters: the jsonl and csv writers write what encoding/json and
// encoding/csv would (as classify wrote before they appended), for keys
// of every slot width and beyond, any number of segments, every kind of
// id, and output well beyond their buffers.
func TestWriters(t *testing.T) {
	keySets := map[string][]string{
		"short":    {"a", "b", "c"},
		"medium":   {"seg-0001", "Recent signups", "a\"b", "<&>"},
		"objectid": {"65f1c0ffee0000000000c001", "65f1c0ffee0000000000c002", "é ü"},
		"long":     {"a segment key that is longer than any slot", "x"},
	}
	raws := [][]byte{
		[]byte(`{"lead_id":"x"}`), []byte(`{"_id":42}`), []byte(`{"country":"IT"}`), []byte(`{"id":"a,\"quoted\" id"}`),
		[]byte(`{"lead_id":" spaced"}`), []byte(`{"id":-1.5e3}`), []byte(`{"lead_id":"caf\u00e9\n"}`),
	}
	r := rand.New(rand.NewPCG(5, 6))
	for name, keys := range keySets {
		for _, n := range []int{0, 1, 7, 8, 9, 20, 200} {
			segs := make([]segmentInfo, n)
			for i := range segs {
				segs[i] = segmentInfo{key: keys[i%len(keys)] + strings.Repeat("k", i/len(keys)%3), name: "name " + itoa(i)}
			}
			for _, format := range []string{formatJSONL, formatCSV} {
				var got, want bytes.Buffer
				out := bufio.NewWriterSize(&got, 64<<10)
				w, err := newResultWriter(format, out, segs)
				if err != nil {
					t.Fatal(err)
				}
				counts, wantCounts := make([]int64, n), make([]int64, n)
				tl := newTally(counts)
				cw, counting := w.(countingWriter)
				if counting {
					cw.countWith(tl)
				}
				ref := csv.NewWriter(&want)
				if format == formatCSV {
					ref.Write(append([]string{"line", "id"}, columnNames(segs)...))
				}
				for line := 1; line <= 3000; line++ {
					raw := raws[r.IntN(len(raws))]
					m := make([]bool, n)
					for i := range m {
						m[i] = r.IntN(4) == 0
					}
					w.contact(line, contactID(raw), m)
					if !counting {
						tl.add(m)
					}
					for i, x := range m {
						if x {
							wantCounts[i]++
						}
					}
					id := gjsonContactID(raw)
					if format == formatJSONL {
						want.WriteString(`{"line":` + itoa(line))
						if id != nil {
							want.WriteString(`,"id":` + string(id))
						}
						want.WriteString(`,"segments":[`)
						var ks []string
						for i, s := range segs {
							if m[i] {
								ks = append(ks, string(quote(s.key)))
							}
						}
						want.WriteString(strings.Join(ks, ",") + "]}\n")
						continue
					}
					row := []string{itoa(line), ""}
					if id != nil {
						row[1] = string(id)
						var s string
						if json.Unmarshal(id, &s) == nil {
							row[1] = s
						}
					}
					for _, x := range m {
						row = append(row, b01(x))
					}
					ref.Write(row)
				}
				ref.Flush()
				tl.flush()
				if !slices.Equal(counts, wantCounts) {
					t.Errorf("%s keys, %d segments, %s: counts %v; want %v", name, n, format, counts, wantCounts)
				}
				if err := w.finish(nil, true); err != nil {
					t.Fatal(err)
				}
				if err := out.Flush(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					g, wt := got.Bytes(), want.Bytes()
					i := 0
					for i < min(len(g), len(wt)) && g[i] == wt[i] {
						i++
					}
					t.Errorf("%s keys, %d segments, %s: %d bytes; want %d; first difference at %d: %q, want %q",
						name, n, format, len(g), len(wt), i, g[max(0, i-40):min(len(g), i+40)], wt[max(0, i-40):min(len(wt), i+40)])
				}
			}
		}
	}
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func b01(m bool) string {
	if m {
		return "1"
	}
	return "0"
}

func BenchmarkContactID(b *testing.B) {
	g := benchmarks.NewContactGen(benchmarks.DefaultConfig)
	lines := make([][]byte, 1000)
	for i := range lines {
		lines[i] = g.Next(nil)
	}
	for _, bc := range []struct {
		name string
		f    func([]byte) []byte
	}{
		{"contactID", contactID},
		{"plain", func(l []byte) []byte { id, _ := plainContactID(l); return id }},
		{"scan", func(l []byte) []byte { id, _ := scanContactID(l); return id }},
		{"gjson", gjsonContactID},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				bc.f(lines[i%len(lines)])
			}
		})
	}
}

// BenchmarkWriters: a contact's output line, with 50 of 200 segments
// (the generated workload's average: 48).
func BenchmarkWriters(b *testing.B) {
	segs := make([]segmentInfo, 200)
	for i := range segs {
		segs[i] = segmentInfo{key: "seg-" + itoa(1000 + i)[1:], name: "segment " + itoa(i)}
	}
	m := make([]bool, len(segs))
	for i := range m {
		m[i] = i%4 == 1
	}
	raw := []byte(`{"lead_id":"web-d8df90efa3129e11","country":"IT"}`) // an id found at once: the writers alone
	for _, format := range []string{formatJSONL, formatCSV} {
		b.Run(format, func(b *testing.B) {
			w, _ := newResultWriter(format, bufio.NewWriterSize(io.Discard, 64<<10), segs)
			for i := 0; b.Loop(); i++ {
				w.contact(i, contactID(raw), m)
			}
		})
	}
}
