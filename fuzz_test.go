package segmatch_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// The fuzz targets of the root package. Run one with
//
//	go test -run '^$' -fuzz '^FuzzSegment$' -fuzztime 60s .
//
// (.ci/fuzz runs every target of the module for a bounded time). Their
// seed corpora are the f.Add calls below plus testdata/fuzz/<FuzzName>/.

// FuzzSegment feeds segment documents through filter.DecodeSegment and
// segmatch.Compile. Neither panics; every problem is a *CompileError whose
// Path is a JSON Pointer into the document (to the offending value, or to
// the object missing a key); and a segment that compiles survives its
// wire format: json.Marshal, then DecodeSegment again, gives an equal
// segment that compiles.
func FuzzSegment(f *testing.F) {
	for _, doc := range seedSegments(f) {
		f.Add(doc)
	}
	for _, s := range []string{
		`{}`, `{"filters":[]}`, `{"match":"any","filters":[]}`, `[]`, `null`, `"x"`, ``, `{"filters":{}}`,
		`{"filters":[{"field":"a","operator":"=","value":1,"value":2}]}`,
		`{"filters":[{"field":"a","opertor":"=","value":1}]}`,
		`{"filters":[{"field":"a","operator":"=","value":"\ud800"}]}`,
		"{\"filters\":[{\"field\":\"a\",\"operator\":\"=\",\"value\":\"\xff\"}]}",
		"{\"filters\":[{\"field\":\"a\xff\",\"operator\":\"=\",\"value\":1}]}",
		"{\"filters\":[{\"field\":\"a\",\"operator\":\"=\",\"value\":{\"\xff\":1}}]}",
		`{"filters":[{"field":"a","operator":"=","value":1e400}]}`,
		`{"filters":[{"field":"a","operator":"in","value":[1,-1e400]}]}`,
		`{"filters":[{"field":"a","operator":"=","value":NaN}]}`,
		`{"filters":[{"field":"a~/b","operator":"nope","value":1}]}`,
		`{"filters":[{"field":"a","operator":"=","value":{"a/b~c":1,"a/b~c":2}}]}`,
		`{"filters":[{"field":"a..b","operator":"=","value":1}]}`,
		`{"filters":[{"field":"tags.#.x","operator":"=","value":1}]}`,
		`{"filters":[{"field":"a","operator":"regex","value":"(unclosed"}]}`,
		`{"filters":[{"field":"a","operator":"elem_match","value":{"match":"any","filters":[{"field":"b","operator":">","value":"x"},{"match":"all","negate":true,"filters":[{"field":"","operator":"elem_match","value":{"filters":[{"field":"c","operator":"nope"}]}}]}]}}]}`,
		`{"filters":[{"field":"a","operator":"elem_match","value":{"field":"b","operator":"=","value":1}}]}`,
		`{"filters":[{"field":"a","operator":"elem_match","value":[]}]}`,
		`{"filters":[{"field":"","operator":"expr","value":"attributes.score +"}]}`,
		`{"filters":[{"field":"","operator":"expr","value":"now() > 1"}]}`,
		`{"filters":[{"field":"d","operator":"within_last","value":"99999999999999999999y"}]}`,
		`{"filters":[{"field":"d","operator":"date_between","value":["2026-12-31","2026-01-01"]}]}`,
		`{"filters":[{"field":"ip","operator":"in_cidr","value":["10.0.0.0/33","::ffff:1.2.3.4/120"]}]}`,
		`{"filters":[{"field":"v","operator":"semver_gt","value":"v1.0.0"}]}`,
		`{"createdAt":"2026-11-28T10:00:00.123456789+02:00","updatedAt":"2026-11-28","filters":[]}`,
		`{"createdAt":"2026-11-28T10:00:00.123456789+02:00","updatedAt":"2026-11-28T10:00:00.5-00:30","filters":[]}`,
		`{"createdAt":"0000-01-01T00:00:00+01:00","filters":[]}`, `{"updatedAt":"9999-12-31T23:30:00-01:00","filters":[]}`,
		`{"createdAt":"0000-01-01T00:00:00Z","updatedAt":"9999-12-31T23:59:59.999999999Z","filters":[]}`,
		`{"_id":"a","id":"b","filters":[]}`, `{"_id":null,"id":"b","status":1e9,"filters":[]}`, `{"status":1.5}`,
		`{"filters":[{"match":"all","filters":[],"field":"x"}]}`, `{"filters":[{"match":"most","filters":[]}]}`,
		`{"filters":[{"field":"a","operator":"","value":1}]}`, `{"filters":[{"field":1,"operator":"=","value":1}]}`,
		`{"filters":[{"field":"a","operator":"=","value":1,"negate":"yes","ignore_case":1}]}`,
		`{"filters":[{"field":"a","operator":"between","value":[1]}]}`,
		`{"filters":[{"field":"a","operator":"in","value":[[1]]}]}`,
		nested(33, false), nested(32, false), nested(40, true),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		seg, err := filter.DecodeSegment(doc)
		if err != nil {
			checkCompileErrors(t, doc, err)
			return
		}
		if _, err := segmatch.Compile(seg); err != nil {
			checkCompileErrors(t, doc, err)
			return
		}
		raw, err := json.Marshal(seg)
		if err != nil {
			t.Fatalf("json.Marshal of a compiled segment: %v\ndoc: %q", err, doc)
		}
		again, err := filter.DecodeSegment(raw)
		if err != nil {
			t.Fatalf("re-encoded segment does not decode: %v\ndoc:     %q\nencoded: %s", err, doc, raw)
		}
		if a, b := normalSegment(seg), normalSegment(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoded segment differs\ndoc:     %q\nencoded: %s\nbefore: %#v\nafter:  %#v", doc, raw, a, b)
		}
		if _, err := segmatch.Compile(again); err != nil {
			t.Fatalf("re-encoded segment does not compile: %v\nencoded: %s", err, raw)
		}
		raw2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(raw, raw2) {
			t.Fatalf("encoding is not stable: %s then %s (%v)", raw, raw2, err)
		}
	})
}

// nested builds a segment whose groups nest depth deep (the segment's own
// filter list is depth 1); elem, when set, nests through elem_match.
func nested(depth int, elem bool) string {
	var b strings.Builder
	b.WriteString(`{"filters":[`)
	for range depth - 1 {
		if elem {
			b.WriteString(`{"field":"a","operator":"elem_match","value":{"filters":[`)
		} else {
			b.WriteString(`{"match":"any","filters":[`)
		}
	}
	b.WriteString(`{"field":"x","operator":"=","value":1}`)
	for range depth - 1 {
		if elem {
			b.WriteString(`]}}`)
		} else {
			b.WriteString(`]}`)
		}
	}
	b.WriteString(`]}`)
	return b.String()
}

// checkCompileErrors: err is an errors.Join tree whose leaves are all
// *CompileError with a Path that is a JSON Pointer into doc.
func checkCompileErrors(t *testing.T, doc []byte, err error) {
	t.Helper()
	var tree any
	decoded := false
	if json.Valid(doc) {
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		decoded = d.Decode(&tree) == nil
	}
	for _, e := range flatten(err) {
		var ce *segmatch.CompileError
		if !errors.As(e, &ce) || e != error(ce) {
			t.Fatalf("error %T %v is not a *CompileError\ndoc: %q", e, e, doc)
		}
		if ce.Err == nil || errors.Unwrap(ce) == nil {
			t.Fatalf("%v wraps no sentinel", ce)
		}
		if !isSentinel(ce) {
			t.Fatalf("%v wraps no known sentinel\ndoc: %q", ce, doc)
		}
		if !validPointer(ce.Path) {
			t.Fatalf("%v: path %q is not a JSON Pointer\ndoc: %q", ce, ce.Path, doc)
		}
		if errors.Is(ce, segmatch.ErrSyntax) {
			if ce.Path != "" {
				t.Fatalf("%v: a syntax error is about the whole document", ce)
			}
			continue
		}
		if !decoded {
			t.Fatalf("%v on a document encoding/json does not read\ndoc: %q", ce, doc)
		}
		// The pointer names the offending value, or (for a missing key)
		// the object that lacks it: either it or its parent resolves.
		if !resolves(tree, ce.Path) && !resolves(tree, parentPointer(ce.Path)) {
			t.Fatalf("%v: path %q is not in the document\ndoc: %q", ce, ce.Path, doc)
		}
	}
}

var sentinels = []error{
	segmatch.ErrSyntax, segmatch.ErrBadShape, segmatch.ErrUnknownKey, segmatch.ErrDuplicateKey,
	segmatch.ErrBadMatch, segmatch.ErrTooDeep, segmatch.ErrBadField, segmatch.ErrUnknownOperator, segmatch.ErrBadValue, segmatch.ErrTooComplex,
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// validPointer: "" or "/"-separated tokens where "~" is only "~0" or "~1"
// (RFC 6901).
func validPointer(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return false
		}
	}
	return true
}

func parentPointer(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// resolves reports whether pointer p names a value in doc (as decoded by
// encoding/json, so keys are compared after its UTF-8 repair).
func resolves(doc any, p string) bool {
	if p == "" {
		return true
	}
	cur := doc
	for _, tok := range strings.Split(p[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[strings.ToValidUTF8(tok, "\uFFFD")]
			if !ok {
				return false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) || strconv.Itoa(i) != tok {
				return false
			}
			cur = c[i]
		default:
			return false
		}
	}
	return true
}

// normalSegment makes the parts of a segment that its wire format writes
// canonically comparable: a missing match is "all", values are compact
// JSON, timestamps are UTC.
func normalSegment(s filter.Segment) filter.Segment {
	if s.Match == "" {
		s.Match = filter.All
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	s.Filters = normalFilters(s.Filters)
	return s
}

func normalFilters(fs []filter.Filter) []filter.Filter {
	if len(fs) == 0 { // nil and [] both encode as []
		return nil
	}
	out := make([]filter.Filter, len(fs))
	for i, f := range fs {
		if f.IsGroup() && f.Match == "" {
			f.Match = filter.All
		}
		if len(f.Value) > 0 {
			// Compare values as JSON, not bytes: json.Marshal HTML-escapes
			// a Marshaler's output ("&" becomes "\u0026"), same value.
			var v any
			if err := json.Unmarshal(f.Value, &v); err == nil {
				f.Value, _ = json.Marshal(v)
			}
		}
		f.Filters = normalFilters(f.Filters)
		out[i] = f
	}
	return out
}

// seedSegments are the documents of testdata/segments.json and
// testdata/invalid_segments.json, one seed each.
func seedSegments(tb testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"testdata/segments.json", "testdata/invalid_segments.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		var docs []json.RawMessage
		if err := json.Unmarshal(data, &docs); err != nil {
			tb.Fatal(err)
		}
		for _, d := range docs {
			out = append(out, []byte(d))
		}
	}
	return out
}

// seedContacts are the first n contacts of testdata/leads.jsonl.
func seedContacts(tb testing.TB, n int) [][]byte {
	fh, err := os.Open("testdata/leads.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var out [][]byte
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(out) < n {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	return out
}

// fuzzConditions are the conditions FuzzMatchJSON evaluates, one program
// each (so that every one is decided on every input): every operator
// family, fan-out, indexes, "#", elem_match, dates, numeric strings,
// ignore_case, escaped and non-ASCII keys.
var fuzzConditions = []string{
	`{"field":"country","operator":"=","value":"IT"}`,
	`{"field":"country","operator":"eq","value":"it","ignore_case":true}`,
	`{"field":"email","operator":"ends with","value":"@BIGCO.com","ignore_case":true}`,
	`{"field":"email","operator":"contains","value":"smith"}`,
	`{"field":"fullname","operator":"starts_with","value":["Ma","Da"]}`,
	`{"field":"email","operator":"regex","value":"^[a-z]+\\.[a-z]+@"}`,
	`{"field":"email","operator":"not_regex","value":"YAHOO","ignore_case":true}`,
	`{"field":"tags","operator":"contains","value":"vip"}`,
	`{"field":"tags","operator":"contains_any","value":["vip","trial"]}`,
	`{"field":"tags","operator":"contains_all","value":["VIP","beta"],"ignore_case":true}`,
	`{"field":"tags","operator":"contains_none","value":["churned"]}`,
	`{"field":"tags.0","operator":"eq","value":"trial"}`,
	`{"field":"tags.#","operator":">=","value":1}`,
	`{"field":"tags.#","operator":"=","value":0}`,
	`{"field":"tags","operator":"is_empty"}`,
	`{"field":"tags","operator":"elem_match","value":{"filters":[{"field":"","operator":"eq","value":"VIP","ignore_case":true}]}}`,
	`{"field":"orders.sku","operator":"in","value":["RT-TSHIRT","RT-HOODIE"]}`,
	`{"field":"orders.qty","operator":">","value":3}`,
	`{"field":"orders.#","operator":"eq","value":2}`,
	`{"field":"orders.0.price","operator":"<","value":50}`,
	`{"field":"orders.date","operator":"within_last","value":"60d"}`,
	`{"field":"orders","operator":"elem_match","value":{"match":"all","filters":[{"field":"sku","operator":"starts_with","value":"RT"},{"field":"qty","operator":">=","value":2}]}}`,
	`{"field":"orders","operator":"elem_match","value":{"match":"any","filters":[{"match":"all","negate":true,"filters":[{"field":"price","operator":">","value":40}]},{"field":"date","operator":"after","value":"2026-11-01"}]}}`,
	`{"field":"attributes.age","operator":">","value":30}`,
	`{"field":"attributes.age","operator":"eq","value":34}`,
	`{"field":"attributes.age","operator":"between","value":[18,65]}`,
	`{"field":"attributes.age","operator":"is null"}`,
	`{"field":"attributes.score","operator":"in","value":[85,"92",true,null]}`,
	`{"field":"attributes.score","operator":"not_in","value":[85]}`,
	`{"field":"attributes.lifetime_value","operator":">=","value":"100"}`,
	`{"field":"attributes.newsletter","operator":"=","value":true}`,
	`{"field":"attributes.last_order_at","operator":"within_last","value":"90d"}`,
	`{"field":"attributes.last_order_at","operator":"before","value":"2026-11-01"}`,
	`{"field":"attributes.renewal_date","operator":"within_next","value":"1mo"}`,
	`{"field":"createdAt","operator":"date_between","value":["2025-01-01","2026-12-31T23:59:59Z"]}`,
	`{"field":"createdAt","operator":"after","value":1700000000000}`,
	`{"field":"attributes.orders_count","operator":"not_between","value":[0,3]}`,
	`{"field":"attributes.notes","operator":"is empty"}`,
	`{"field":"attributes.address","operator":"exists"}`,
	`{"field":"attributes.preferences.channel","operator":"!=","value":"SMS","ignore_case":true}`,
	`{"field":"attributes","operator":"eq","value":null}`,
	`{"field":"properties.app_version","operator":"semver_gte","value":"2.1.0"}`,
	`{"field":"properties.app_version","operator":"semver_lt","value":"3.0.0-rc.2"}`,
	`{"field":"properties.ip","operator":"in_cidr","value":["10.0.0.0/8","138.157.0.0/16","::1"]}`,
	`{"field":"properties.plan.tier","operator":"in","value":["PRO","enterprise"],"ignore_case":true}`,
	`{"field":"","operator":"expr","value":"attributes.score > 80 && country == \"DE\""}`,
	`{"field":"attributes","operator":"expr","value":"len(preferences) > 1 || score > 90"}`,
	`{"field":"","operator":"is_set"}`,
	`{"field":"a\\.b","operator":"=","value":1}`,
	`{"field":"a.\\0","operator":"=","value":1}`,
	`{"field":"a.0.b","operator":"=","value":"x"}`,
	`{"field":"\ufffd","operator":"=","value":1}`,
	`{"field":"é.ü","operator":"=","value":"ß","ignore_case":true}`,
	`{"match":"any","negate":true,"filters":[{"field":"country","operator":"=","value":"US"},{"field":"tags","operator":"has","value":"trial"}]}`,
	// several conditions a Set decides through one field index
	`{"field":"email","operator":"starts_with","value":"a"}`,
	`{"field":"email","operator":"starts_with","value":["x","ab",""]}`,
	`{"field":"email","operator":"ends_with","value":".com"}`,
	`{"field":"email","operator":"ends_with","value":["@y","m"]}`,
	`{"field":"email","operator":"contains","value":["@","x@"]}`,
	`{"field":"email","operator":"eq","value":"a.b@y"}`,
	`{"field":"tags","operator":"starts_with","value":"v"}`,
	`{"field":"tags","operator":"ends_with","value":"al"}`,
	`{"field":"tags","operator":"contains","value":["trial","1"]}`,
	`{"field":"tags","operator":"eq","value":"beta"}`,
	`{"field":"tags","operator":"in","value":[1,"vip",false]}`,
	`{"field":"country","operator":"starts_with","value":"I"}`,
	`{"field":"country","operator":"contains","value":"T"}`,
	`{"field":"country","operator":"in","value":["IT","US"]}`,
	`{"field":"attributes.score","operator":">=","value":85}`,
	`{"field":"attributes.score","operator":"<","value":92}`,
	`{"field":"attributes.score","operator":"eq","value":"85"}`,
	`{"field":"attributes.score","operator":"contains","value":"8"}`,
	`{"field":"attributes.age","operator":"<=","value":34}`,
	`{"field":"attributes.preferences.channel","operator":"eq","value":"sms"}`,
	`{"field":"attributes.preferences.channel","operator":"starts_with","value":"s"}`,
	`{"field":"attributes.preferences","operator":"is_set"}`,
	`{"field":"orders.sku","operator":"starts_with","value":"RT-"}`,
	`{"field":"orders.sku","operator":"contains","value":"RT-HOODIE"}`,
	`{"field":"a.b","operator":"=","value":1}`,
	`{"field":"a.b","operator":"!=","value":2}`,
	`{"field":"a.c","operator":"exists"}`,
}

// fuzzSets are fuzzConditions as Sets, one segment per condition: the
// first 40 (fewer segments than eagerFrom: short-circuit), and every
// condition three times (eager): match all, match any, and negated in a
// nested group.
var fuzzSets = sync.OnceValues(func() ([]*engine.Engine, error) {
	var lazy, eager []filter.Segment
	for i, c := range fuzzConditions {
		seg, err := filter.DecodeSegment([]byte(`{"filters":[` + c + `]}`))
		if err != nil {
			return nil, err
		}
		seg.ID = strconv.Itoa(i)
		if i < 40 {
			lazy = append(lazy, seg)
		}
		anyOf, neg := seg, seg
		anyOf.ID, anyOf.Match = seg.ID+"-any", filter.Any
		neg.ID += "-not"
		neg.Filters = []filter.Filter{{Match: filter.All, Negate: true, Filters: seg.Filters}}
		eager = append(eager, seg, anyOf, neg)
	}
	var out []*engine.Engine
	for _, segs := range [][]filter.Segment{lazy, eager} {
		s, err := engine.New(segs, fixedNow())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
})

// fuzzPrograms compiles fuzzConditions once (as clients send them:
// through DecodeSegment), at the core table's fixed now.
var fuzzPrograms = sync.OnceValues(func() ([]*segmatch.Program, error) {
	var out []*segmatch.Program
	for _, c := range fuzzConditions {
		seg, err := filter.DecodeSegment([]byte(`{"filters":[` + c + `]}`))
		if err != nil {
			return nil, err
		}
		p, err := segmatch.Compile(seg, fixedNow())
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
})

// FuzzMatchJSON feeds contact documents to MatchJSON of fixed programs.
// It never panics. When encoding/json decodes the bytes to a
// map[string]any, MatchJSON returns no error and agrees with Match on
// that map. When encoding/json rejects them, MatchJSON fails too
// (ErrMalformedContact, or ErrNotObject for well-formed non-objects), with
// one documented exception: a number beyond float64's range (1e400) is
// well-formed JSON (json.Valid accepts it) that json.Unmarshal refuses to
// put in a float64. MatchJSON accepts it and reads it as ±Inf, exactly as
// Match reads json.Number("1e400") from a json.Decoder with UseNumber; so
// for such a contact MatchJSON must agree with Match on the UseNumber
// decoding.
func FuzzMatchJSON(f *testing.F) {
	for _, c := range seedContacts(f, 40) {
		f.Add(c)
	}
	for _, s := range []string{
		`{}`, ``, ` `, "\n\t ", `[]`, `[{}]`, `"x"`, `1`, `null`, `true`, `{`, `{"a":1}}`, `{"a":1} {}`,
		`{"country":"IT","country":"US"}`, `{"tags":["vip"],"tags":"trial"}`,
		`{"attributes":{"age":"34"}}`, `{"attributes":{"age":"3.4e1"}}`, `{"attributes":{"age":" 34"}}`,
		`{"attributes":{"age":1e400}}`, `{"attributes":{"age":-1e400,"score":1e400}}`, `{"attributes":{"age":"1e400"}}`,
		`{"attributes":{"age":NaN}}`, `{"attributes":{"age":Infinity}}`, `{"attributes":{"age":-Infinity}}`,
		`{"attributes":{"age":1e-400}}`, `{"attributes":{"age":-0}}`, `{"attributes":{"age":034}}`,
		"{\"country\":\"I\xffT\"}", "{\"\xff\":1}", "{\"\xef\xbf\xbd\":1}", `{"\ufffd":1}`, `{"\udfff":1}`,
		`{"email":"a.b@\ud800\u0041"}`, `{"email":"\ud83d\ude00.x@y"}`, "{\"email\":\"x\x00\"}",
		`{"a.b":1}`, `{"a":{"b":1}}`, `{"a":[{"b":"x"}]}`, `{"a":{"0":1}}`, `{"a":[1]}`, `{"é":{"ü":"SS"}}`,
		`{"tags":[]}`, `{"tags":{}}`, `{"tags":"vip"}`, `{"tags":[["vip"]]}`, `{"tags":[null,"trial"]}`,
		`{"orders":[{"sku":"RT-X","qty":"4"},{"sku":["RT-HOODIE"],"qty":1}]}`, `{"orders":{"sku":"RT-TSHIRT"}}`,
		`{"orders":[{"date":"2026-11-27T00:00:00Z","price":10},{"date":1764000000000,"price":"41"}]}`,
		`{"createdAt":"2026-02-30"}`, `{"createdAt":1.7e12}`, `{"createdAt":9e15}`,
		`{"properties":{"app_version":"2.1","ip":"::ffff:138.157.1.1"}}`,
		`{"properties":{"app_version":"v3.0.0","ip":"10.0.0.1%eth0"}}`,
		`{"attributes":{"preferences":{"channel":"ſms"},"score":"85"}}`,
		`[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 101), `{"a":` + strings.Repeat(`[`, 10001),
		`{"a":{"b":1},"a":{"c":2}}`, `{"a":{"b":1},"a":[{"b":1}]}`, `{"a":[{"b":1}],"a":{"b":2}}`, `{"a":{"b":1},"a":7}`,
		`{"a":{"b":1,"b":{"x":1}}}`, `{"a":{"\u0062":1}}`, `{"\u0061":{"b":1}}`, `{"a":{"b":[1,2]}}`,
		`{"attributes":{"age":40},"attributes":{"score":85}}`, `{"attributes":{"preferences":[{"channel":"sms"}]}}`,
		`{"email":"ab@y","tags":["vip","trial",1,["beta"],"beta"],"country":"IT"}`, `{"email":["x@y.com",2]}`,
	} {
		f.Add([]byte(s))
	}
	progs, err := fuzzPrograms()
	if err != nil {
		f.Fatal(err)
	}
	sets, err := fuzzSets()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var decoded any
		decErr := json.Unmarshal(data, &decoded)
		outOfRange := false
		if decErr != nil && json.Valid(data) {
			// Well-formed, but a number does not fit a float64.
			var ute *json.UnmarshalTypeError
			if !errors.As(decErr, &ute) || !strings.HasPrefix(ute.Value, "number") {
				t.Fatalf("json.Valid accepts %q but json.Unmarshal fails: %v", data, decErr)
			}
			d := json.NewDecoder(bytes.NewReader(data))
			d.UseNumber()
			decoded = nil
			if err := d.Decode(&decoded); err != nil {
				t.Fatalf("UseNumber decoding of %q: %v", data, err)
			}
			decErr, outOfRange = nil, true
		}
		m, isObj := decoded.(map[string]any)
		for i, p := range progs {
			got, err := p.MatchJSON(data)
			switch {
			case decErr != nil:
				if err == nil || !errors.Is(err, segmatch.ErrMalformedContact) {
					t.Fatalf("MatchJSON(%q) = %v, %v; encoding/json: %v", data, got, err, decErr)
				}
			case !isObj:
				if err == nil || !errors.Is(err, segmatch.ErrNotObject) {
					t.Fatalf("MatchJSON(%q) = %v, %v for a %T", data, got, err, decoded)
				}
			case err != nil:
				t.Fatalf("MatchJSON(%q): %v (encoding/json reads it)", data, err)
			default:
				if want := p.Match(m); got != want {
					t.Fatalf("condition %s\ncontact %q (out of range numbers: %v)\nMatchJSON = %v, Match = %v",
						fuzzConditions[i], data, outOfRange, got, want)
				}
			}
		}
		checkSetsJSON(t, sets, progs, data, m, decErr == nil && isObj)
	})
}

// checkSetsJSON: a Set's MatchJSON fails exactly when Program.MatchJSON
// does, and otherwise agrees with Match of each condition's Program on the
// decoded contact m.
func checkSetsJSON(t *testing.T, sets []*engine.Engine, progs []*segmatch.Program, data []byte, m map[string]any, ok bool) {
	t.Helper()
	for si, set := range sets {
		res := set.NewResult()
		dst := res.Matches
		err := set.ClassifyJSONInto(data, res)
		if !ok {
			if err == nil {
				t.Fatalf("set %d: MatchJSON(%q) accepted what Program.MatchJSON refuses", si, data)
			}
			continue
		}
		if err != nil {
			t.Fatalf("set %d: MatchJSON(%q): %v", si, data, err)
		}
		for j, got := range dst {
			i, negated := j, false
			if si == 1 {
				i, negated = j/3, j%3 == 2
			}
			if want := progs[i].Match(m) != negated; got != want {
				t.Fatalf("set %d, condition %s (negated: %v)\ncontact %q\nSet.MatchJSON = %v, Program.Match = %v",
					si, fuzzConditions[i], negated, data, got, want)
			}
		}
	}
}
