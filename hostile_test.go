package segmatch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// Hostile input: documents built to hurt (deep, huge, malformed, out of
// range). Each gets a clear answer: an error with its sentinel and JSON
// Pointer, or a result; nothing panics, overflows the stack or uses
// memory out of proportion to the input. The big ones log their time and
// memory (t.Logf; run with -v to read them). The heaviest are skipped
// under -short.

const mib = 1 << 20

// hostileSegment is a segment document that must fail to decode or to
// compile with (at least) the problem at path wrapping sentinel.
type hostileSegment struct {
	name     string
	doc      func() []byte
	sentinel error
	path     string
	only     bool // the problem is the only one reported
}

func condDoc(field, op, value string) []byte {
	return []byte(`{"name":"hostile","filters":[{"field":` + field + `,"operator":` + op + `,"value":` + value + `}]}`)
}

func TestHostileSegments(t *testing.T) {
	deepPath := strings.Repeat("/filters/0", filter.MaxDepth) + "/filters"
	rows := []hostileSegment{
		{name: "groups nested 33 deep", doc: func() []byte { return []byte(nested(filter.MaxDepth+1, false)) },
			sentinel: segmatch.ErrTooDeep, path: deepPath, only: true},
		{name: "groups nested 4000 deep", doc: func() []byte { return []byte(nested(4000, false)) },
			sentinel: segmatch.ErrTooDeep, path: deepPath, only: true},
		{name: "elem_match nested 40 deep", doc: func() []byte { return []byte(nested(40, true)) },
			sentinel: segmatch.ErrTooDeep, path: elemMatchTooDeepPath(), only: true},
		{name: "value nested 100000 deep", doc: func() []byte {
			return condDoc(`"a"`, `"in"`, strings.Repeat("[", 100000)+strings.Repeat("]", 100000))
		}, sentinel: segmatch.ErrSyntax, path: "", only: true},
		{name: "invalid UTF-8 in a value", doc: func() []byte { return condDoc(`"a"`, `"="`, "\"Mar\xffco\"") },
			sentinel: segmatch.ErrBadValue, path: "/filters/0/value", only: true},
		{name: "invalid UTF-8 in a list element", doc: func() []byte { return condDoc(`"a"`, `"in"`, "[\"ok\",\"\xc3\"]") },
			sentinel: segmatch.ErrBadValue, path: "/filters/0/value/1", only: true},
		{name: "invalid UTF-8 in a value's key", doc: func() []byte {
			return condDoc(`"a"`, `"elem_match"`, "{\"filters\":[],\"\xfe\":1}")
		}, sentinel: segmatch.ErrBadShape, path: "/filters/0/value", only: true},
		{name: "invalid UTF-8 in a field", doc: func() []byte { return condDoc("\"a\xff\"", `"="`, `1`) },
			sentinel: segmatch.ErrBadShape, path: "/filters/0/field", only: true},
		{name: "invalid UTF-8 in an operator", doc: func() []byte { return condDoc(`"a"`, "\"=\xff\"", `1`) },
			sentinel: segmatch.ErrBadShape, path: "/filters/0/operator", only: true},
		{name: "invalid UTF-8 in the name", doc: func() []byte { return []byte("{\"name\":\"\xff\",\"filters\":[]}") },
			sentinel: segmatch.ErrBadShape, path: "/name", only: true},
		{name: "regex over 4 KiB", doc: func() []byte { return condDoc(`"email"`, `"regex"`, `"`+strings.Repeat("a", 4097)+`"`) },
			sentinel: segmatch.ErrTooComplex, path: "/filters/0/value", only: true},
		{name: "regex of 4097 bytes written as 24 KiB of escapes", doc: func() []byte {
			return condDoc(`"email"`, `"regex"`, `"`+strings.Repeat(`\u0061`, 4097)+`"`)
		}, sentinel: segmatch.ErrTooComplex, path: "/filters/0/value", only: true},
		{name: "NaN", doc: func() []byte { return condDoc(`"a"`, `"="`, `NaN`) }, sentinel: segmatch.ErrSyntax, path: "", only: true},
		{name: "Infinity", doc: func() []byte { return condDoc(`"a"`, `">"`, `Infinity`) }, sentinel: segmatch.ErrSyntax, path: "", only: true},
		{name: "-Infinity in a list", doc: func() []byte { return condDoc(`"a"`, `"in"`, `[1,-Infinity]`) }, sentinel: segmatch.ErrSyntax, path: "", only: true},
		{name: "1e400", doc: func() []byte { return condDoc(`"a"`, `">"`, `1e400`) }, sentinel: segmatch.ErrBadValue, path: "/filters/0/value", only: true},
		{name: "-1e400 in a list", doc: func() []byte { return condDoc(`"a"`, `"in"`, `[1,-1e400]`) }, sentinel: segmatch.ErrBadValue, path: "/filters/0/value/1", only: true},
		{name: "1e400 in between", doc: func() []byte { return condDoc(`"a"`, `"between"`, `[0,1e400]`) }, sentinel: segmatch.ErrBadValue, path: "/filters/0/value/1", only: true},
		{name: "duplicate key in a filter", doc: func() []byte {
			return []byte(`{"filters":[{"field":"a","operator":"=","field":"b","value":1}]}`)
		}, sentinel: segmatch.ErrDuplicateKey, path: "/filters/0/field", only: true},
		{name: "duplicate top-level key", doc: func() []byte { return []byte(`{"name":"a","filters":[],"name":"b"}`) },
			sentinel: segmatch.ErrDuplicateKey, path: "/name", only: true},
		{name: "duplicate key in a value object", doc: func() []byte {
			return condDoc(`"orders"`, `"elem_match"`, `{"match":"any","filters":[],"match":"all"}`)
		}, sentinel: segmatch.ErrDuplicateKey, path: "/filters/0/value/match", only: true},
		{name: "duplicate key with a pointer escape", doc: func() []byte {
			return condDoc(`"a"`, `"="`, `{"a/b~c":1,"a/b~c":2}`)
		}, sentinel: segmatch.ErrDuplicateKey, path: "/filters/0/value/a~1b~0c"},
		{name: "empty document", doc: func() []byte { return nil }, sentinel: segmatch.ErrSyntax, path: "", only: true},
		{name: "not an object", doc: func() []byte { return []byte(`[{"filters":[]}]`) }, sentinel: segmatch.ErrBadShape, path: "", only: true},
	}
	runHostileSegments(t, rows)
}

// runHostileSegments compiles each row and requires its problem (and,
// when only is set, nothing else).
func runHostileSegments(t *testing.T, rows []hostileSegment) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			doc := r.doc()
			err := compileDoc(string(doc))
			if err == nil {
				t.Fatalf("compiled; want %v at %q", r.sentinel, r.path)
			}
			problems := flatten(err)
			found := false
			for _, e := range problems {
				var ce *segmatch.CompileError
				if !errors.As(e, &ce) {
					t.Fatalf("%T %v is not a *CompileError", e, e)
				}
				if ce.Path == r.path && errors.Is(ce, r.sentinel) {
					found = true
				}
			}
			if !found || (r.only && len(problems) != 1) {
				t.Fatalf("got %v; want only=%v %v at %q", err, r.only, r.sentinel, r.path)
			}
			if len(doc) < 200 {
				t.Logf("%q: %v", doc, err)
			} else {
				t.Logf("%d bytes: %.300v", len(doc), err)
			}
		})
	}
}

// elemMatchTooDeepPath is where nested(40, true) crosses MaxDepth: the
// segment's list is depth 1 and each elem_match group one deeper, so the
// group at depth 33 is reported at its filters.
func elemMatchTooDeepPath() string {
	return strings.Repeat("/filters/0/value", filter.MaxDepth-1) + "/filters"
}

func TestHostileDeepButLegal(t *testing.T) {
	// Exactly MaxDepth levels of groups compile and evaluate.
	p := mustCompileDoc(t, nested(filter.MaxDepth, false))
	checkBoth(t, p, `{"x":1}`, true)
	checkBoth(t, p, `{"x":2}`, false)

	// elem_match nested as deep as allowed, over data nested as deep.
	depth := filter.MaxDepth
	for ; depth > 1; depth-- {
		if compileDoc(nested(depth, true)) == nil {
			break
		}
	}
	if depth < filter.MaxDepth-1 {
		t.Fatalf("elem_match nests only %d deep", depth)
	}
	p = mustCompileDoc(t, nested(depth, true))
	contact := strings.Repeat(`{"a":[`, depth-1) + `{"x":1}` + strings.Repeat(`]}`, depth-1)
	checkBoth(t, p, contact, true)
	checkBoth(t, p, strings.Replace(contact, `"x":1`, `"x":2`, 1), false)
	t.Logf("elem_match groups nest %d deep (the segment's list included)", depth)

	// A contact nested 9,999 deep (encoding/json's limit is 10,000) is
	// read, by fan-out, index and "#" alike.
	deep := `{"a":` + strings.Repeat("[", 9998) + `1` + strings.Repeat("]", 9998) + `}`
	for _, c := range []struct {
		cond string
		want bool
	}{
		{`{"field":"a","operator":"is_set"}`, true},
		{`{"field":"a.#","operator":"=","value":1}`, true},
		{`{"field":"a.0.0.0.#","operator":"=","value":1}`, true},
		{`{"field":"a.x","operator":"is_set"}`, false},
		{`{"field":"a","operator":"=","value":1}`, false},
		{`{"field":"a","operator":"elem_match","value":{"filters":[{"field":"","operator":"elem_match","value":{"filters":[{"field":"#","operator":"=","value":1}]}}]}}`, true},
		{`{"field":"","operator":"expr","value":"len(a) == 1"}`, true},
	} {
		p := mustCompileDoc(t, `{"filters":[`+c.cond+`]}`)
		checkBoth(t, p, deep, c.want)
	}
}

// hostileContact is a contact document evaluated against a segment.
type hostileContact struct {
	name    string
	segment string // the conditions of the segment: a filters list's inside
	contact func() []byte
	want    bool
	err     error // want MatchJSON to fail wrapping this
}

func TestHostileContacts(t *testing.T) {
	deep := func(open string) func() []byte {
		return func() []byte { return []byte(strings.Repeat(open, 100000)) }
	}
	rows := []hostileContact{
		{name: "100000-deep [[[[", segment: `{"field":"a","operator":"is_set"}`, contact: deep("["), err: segmatch.ErrMalformedContact},
		{name: "100000-deep [[[[ closed", segment: `{"field":"a","operator":"is_set"}`, contact: func() []byte {
			return []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
		}, err: segmatch.ErrMalformedContact},
		{name: "100000-deep object", segment: `{"field":"a","operator":"is_set"}`, contact: func() []byte {
			return []byte(strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000))
		}, err: segmatch.ErrMalformedContact},
		{name: "10001-deep array in an object", segment: `{"field":"a","operator":"is_set"}`, contact: func() []byte {
			return []byte(`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)
		}, err: segmatch.ErrMalformedContact},
		{name: "empty input", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return nil }, err: segmatch.ErrMalformedContact},
		{name: "whitespace only", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(" \t\r\n ") }, err: segmatch.ErrMalformedContact},
		{name: "array", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(`[{"a":1}]`) }, err: segmatch.ErrNotObject},
		{name: "string", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(`"{}"`) }, err: segmatch.ErrNotObject},
		{name: "number", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(` 42 `) }, err: segmatch.ErrNotObject},
		{name: "null", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(`null`) }, err: segmatch.ErrNotObject},
		{name: "true", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(`true`) }, err: segmatch.ErrNotObject},
		{name: "two objects", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(`{} {}`) }, err: segmatch.ErrMalformedContact},
		{name: "unterminated", segment: `{"field":"a","operator":"is_not_set"}`, contact: func() []byte { return []byte(`{"a":"x`) }, err: segmatch.ErrMalformedContact},
		{name: "NaN", segment: `{"field":"a","operator":"is_set"}`, contact: func() []byte { return []byte(`{"a":NaN}`) }, err: segmatch.ErrMalformedContact},
		{name: "Infinity", segment: `{"field":"a","operator":">","value":1}`, contact: func() []byte { return []byte(`{"a":Infinity}`) }, err: segmatch.ErrMalformedContact},
		{name: "-Infinity", segment: `{"field":"a","operator":"<","value":1}`, contact: func() []byte { return []byte(`{"a":-Infinity}`) }, err: segmatch.ErrMalformedContact},
		// Decision: 1e400 is well-formed JSON (json.Valid accepts it); it
		// reads as +Inf, as json.Number("1e400") does for Match.
		{name: "1e400 is +Inf", segment: `{"field":"a","operator":">","value":1e308}`, contact: func() []byte { return []byte(`{"a":1e400}`) }, want: true},
		{name: "-1e400 is -Inf", segment: `{"field":"a","operator":"<","value":-1e308}`, contact: func() []byte { return []byte(`{"a":-1e400}`) }, want: true},
		{name: "1e400 equals nothing finite", segment: `{"field":"a","operator":"in","value":[1.7976931348623157e308]}`, contact: func() []byte { return []byte(`{"a":1e400}`) }, want: false},
		{name: "1e400 elsewhere does not matter", segment: `{"field":"b","operator":"=","value":"x"}`, contact: func() []byte { return []byte(`{"a":[1e400],"b":"x"}`) }, want: true},
		{name: "\"1e400\" is not a numeric string", segment: `{"field":"a","operator":">","value":1}`, contact: func() []byte { return []byte(`{"a":"1e400"}`) }, want: false},
		{name: "1e-400 is 0", segment: `{"field":"a","operator":"=","value":0}`, contact: func() []byte { return []byte(`{"a":1e-400}`) }, want: true},
		{name: "invalid UTF-8 repaired like encoding/json", segment: `{"field":"name","operator":"=","value":"Mar\ufffd\ufffdco"}`,
			contact: func() []byte { return []byte("{\"name\":\"Mar\xc3\xffco\"}") }, want: true},
		{name: "invalid UTF-8 in a key", segment: `{"field":"\ufffd","operator":"=","value":1}`,
			contact: func() []byte { return []byte("{\"\xff\":1}") }, want: true},
		{name: "lone surrogate escape", segment: `{"field":"name","operator":"=","value":"\ufffdA"}`,
			contact: func() []byte { return []byte(`{"name":"\ud800\u0041"}`) }, want: true},
		{name: "duplicate key: the last wins", segment: `{"field":"country","operator":"=","value":"US"}`,
			contact: func() []byte { return []byte(`{"country":"IT","country":"US"}`) }, want: true},
		{name: "duplicate key: the first is gone", segment: `{"field":"country","operator":"=","value":"IT"}`,
			contact: func() []byte { return []byte(`{"country":"IT","country":"US"}`) }, want: false},
		{name: "duplicate nested key", segment: `{"field":"a.b","operator":"is_not_set"}`,
			contact: func() []byte { return []byte(`{"a":{"b":1},"a":{"c":1}}`) }, want: true},
		{name: "duplicate key by escape", segment: `{"field":"tags","operator":"contains","value":"vip"}`,
			contact: func() []byte { return []byte(`{"tags":["x"],"t\u0061gs":["vip"]}`) }, want: true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := mustCompileDoc(t, `{"filters":[`+r.segment+`]}`)
			contact := r.contact()
			got, err := p.MatchJSON(contact)
			if r.err != nil {
				if err == nil || !errors.Is(err, r.err) {
					t.Fatalf("MatchJSON = %v, %v; want an error wrapping %v", got, err, r.err)
				}
				if !errors.Is(err, segmatch.ErrMalformedContact) && !errors.Is(err, segmatch.ErrNotObject) {
					t.Fatalf("%v wraps neither sentinel", err)
				}
				t.Logf("%.80q: %v", contact, err)
				return
			}
			checkBoth(t, p, string(contact), r.want)
		})
	}
}

// TestHostileBig: huge strings and lists, with their time and memory.
func TestHostileBig(t *testing.T) {
	big := strings.Repeat("abcdefghij", mib) // 10 MiB
	t.Run("10 MiB string in a segment", func(t *testing.T) {
		// Over MaxSegmentBytes: refused before anything is parsed.
		doc := []byte(`{"filters":[{"field":"note","operator":"contains","value":"` + big + `"}]}`)
		var err error
		m := measure(func() { _, err = filter.DecodeSegment(doc) })
		wantTooComplex(t, err, "")
		m.atMost(t, 64*1024)
		seg := filter.Segment{Filters: []filter.Filter{{Field: "note", Operator: "contains", Value: json.RawMessage(`"` + big + `"`)}}}
		_, err = segmatch.Compile(seg)
		wantTooComplex(t, err, "")
	})
	t.Run("1 MiB string in a segment, the largest accepted", func(t *testing.T) {
		head := `{"filters":[{"field":"note","operator":"contains","value":"`
		s := big[:filter.MaxSegmentBytes-len(head)-len(`"}]}`)]
		doc := []byte(head + s + `"}]}`)
		var p *segmatch.Program
		m := measure(func() { p = compileBytes(t, doc) })
		t.Logf("compile %d-byte segment: %v", len(doc), m)
		m.atMost(t, 10*len(doc))
		checkBoth(t, p, `{"note":"x`+s+`y"}`, true)
		checkBoth(t, p, `{"note":"`+s[1:]+`"}`, false)
	})
	t.Run("10 MiB string in a contact", func(t *testing.T) {
		contact := []byte(`{"a":1,"note":"` + big + `","email":"x@bigco.com"}`)
		for _, cond := range []string{
			`{"field":"email","operator":"ends_with","value":"@BIGCO.COM","ignore_case":true}`,
			`{"field":"note","operator":"contains","value":"jab"}`,
			`{"field":"note","operator":"regex","value":"j[a]b"}`,
			`{"field":"note","operator":"ends_with","value":"IJ","ignore_case":true}`,
		} {
			p := mustCompileDoc(t, `{"filters":[`+cond+`]}`)
			var got bool
			var err error
			m := measure(func() { got, err = p.MatchJSON(contact) })
			if err != nil || !got {
				t.Fatalf("%s: MatchJSON = %v, %v", cond, got, err)
			}
			t.Logf("MatchJSON %d-byte contact, %s: %v", len(contact), cond, m)
			m.atMost(t, 10*len(contact))
		}
		var decoded map[string]any
		if err := json.Unmarshal(contact, &decoded); err != nil {
			t.Fatal(err)
		}
		p := mustCompileDoc(t, `{"filters":[{"field":"note","operator":"starts_with","value":"ABC","ignore_case":true}]}`)
		var got bool
		m := measure(func() { got = p.Match(decoded) })
		if !got {
			t.Fatal("Match = false")
		}
		t.Logf("Match on the decoded contact: %v", m)
		m.atMost(t, 10*len(contact))
	})
	inList := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"filters":[{"field":"id","operator":"in","value":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			if i%2 == 0 {
				b.WriteString(strconv.Itoa(i))
			} else {
				fmt.Fprintf(&b, `"id-%d"`, i)
			}
		}
		b.WriteString(`]}]}`)
		return b.Bytes()
	}
	t.Run("1,000,000-element in list", func(t *testing.T) {
		_, err := filter.DecodeSegment(inList(1_000_000)) // 9 MB
		wantTooComplex(t, err, "")
	})
	t.Run("100,000-element in list, near the largest accepted", func(t *testing.T) {
		n := 100_000
		doc := inList(n)
		var p *segmatch.Program
		m := measure(func() { p = compileBytes(t, doc) })
		t.Logf("compile %d-element in list (%d bytes): %v", n, len(doc), m)
		m.atMost(t, 1024*n) // measured: some 550 bytes an element, most of it garbage
		last := n - 1       // odd: a string
		for _, c := range []struct {
			contact string
			want    bool
		}{
			{`{"id":0}`, true},
			{fmt.Sprintf(`{"id":%d}`, n-2), true},
			{fmt.Sprintf(`{"id":"%d"}`, n-2), true}, // a numeric string (rule 1)
			{fmt.Sprintf(`{"id":"id-%d"}`, last), true},
			{fmt.Sprintf(`{"id":["x","id-%d"]}`, last/2*2-1), true},
			{fmt.Sprintf(`{"id":%d}`, n), false},
			{`{"id":1}`, false},
			{`{"id":"id-0"}`, false},
			{`{"id":null}`, false},
			{`{}`, false},
		} {
			checkBoth(t, p, c.contact, c.want)
		}
		contact := []byte(fmt.Sprintf(`{"id":"id-%d"}`, last))
		const reps = 1000
		start := time.Now()
		for range reps {
			if ok, err := p.MatchJSON(contact); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		t.Logf("MatchJSON against it: %v per contact", time.Since(start)/reps)
	})
}

// wantTooComplex asserts err holds an ErrTooComplex CompileError at path.
func wantTooComplex(t *testing.T, err error, path string) {
	t.Helper()
	var ce *segmatch.CompileError
	if !errors.Is(err, segmatch.ErrTooComplex) || !errors.As(err, &ce) || ce.Path != path {
		t.Fatalf("got %.300v; want ErrTooComplex at %q", err, path)
	}
}

// checkBoth evaluates contact with MatchJSON and with Match on its
// encoding/json decoding: both give want.
func checkBoth(t *testing.T, p *segmatch.Program, contact string, want bool) {
	t.Helper()
	show := contact
	if len(show) > 120 {
		show = show[:120] + fmt.Sprintf("... (%d bytes)", len(contact))
	}
	got, err := p.MatchJSON([]byte(contact))
	if err != nil || got != want {
		t.Errorf("MatchJSON(%q) = %v, %v; want %v", show, got, err, want)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(contact), &m); err != nil {
		d := json.NewDecoder(strings.NewReader(contact))
		d.UseNumber() // out-of-range numbers: see FuzzMatchJSON
		if err := d.Decode(&m); err != nil {
			t.Fatalf("%q does not decode: %v", show, err)
		}
	}
	if got := p.Match(m); got != want {
		t.Errorf("Match(%q) = %v; want %v", show, got, want)
	}
}

func mustCompileDoc(t testing.TB, doc string) *segmatch.Program {
	t.Helper()
	return compileBytes(t, []byte(doc))
}

func compileBytes(t testing.TB, doc []byte) *segmatch.Program {
	t.Helper()
	seg, err := filter.DecodeSegment(doc)
	if err != nil {
		t.Fatalf("decode: %.500v", err)
	}
	p, err := segmatch.Compile(seg, fixedNow())
	if err != nil {
		t.Fatalf("compile: %.500v", err)
	}
	return p
}

// raceEnabled reports a test binary built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// usage is what one call cost.
type usage struct {
	took       time.Duration
	totalAlloc uint64 // bytes allocated during the call
	heapGrowth int64  // live heap after the call minus before (what it kept)
	rssBefore  int64  // resident set before the call (bytes; -1 unknown)
	vmHWM      int64  // peak resident set during the call (bytes; -1 unknown)
}

func (u usage) String() string {
	s := fmt.Sprintf("%v, allocated %.1f MiB, kept %.1f MiB", u.took.Round(time.Microsecond),
		float64(u.totalAlloc)/mib, float64(u.heapGrowth)/mib)
	if u.vmHWM >= 0 {
		s += fmt.Sprintf(", peak RSS %.1f MiB (%.1f MiB before)", float64(u.vmHWM)/mib, float64(u.rssBefore)/mib)
	}
	return s
}

// atMost fails when the call allocated more than limit bytes.
func (u usage) atMost(t *testing.T, limit int) {
	t.Helper()
	if u.totalAlloc > uint64(limit) {
		t.Errorf("allocated %d bytes; bound %d", u.totalAlloc, limit)
	}
}

// measure runs fn once and reports its time and memory. The peak RSS
// comes from /proc/self/status VmHWM after resetting it (Linux), so it is
// the process's peak during fn.
func measure(fn func()) usage {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rss := procStatus("VmRSS:")
	resetHWM := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	start := time.Now()
	fn()
	took := time.Since(start)
	u := usage{took: took, rssBefore: rss, vmHWM: -1}
	if resetHWM {
		u.vmHWM = procStatus("VmHWM:")
	}
	runtime.ReadMemStats(&after)
	u.totalAlloc = after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	u.heapGrowth = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	return u
}

// procStatus reads a kB figure of /proc/self/status, in bytes.
func procStatus(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}
