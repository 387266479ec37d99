package segmatch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainCases: on every row of the shared table, Explain and
// ExplainJSON answer what Match and MatchJSON answer, and report every
// condition of the segment, as written, with a consistent tree.
func TestExplainCases(t *testing.T) {
	all := cases.All()
	require.GreaterOrEqual(t, len(all), 200)
	for _, c := range all {
		prog, err := segmatch.Compile(c.Segment, fixedNow())
		require.NoError(t, err, c.Name)
		m := c.ContactMap()
		x := prog.Explain(m)
		require.Equal(t, prog.Match(m), x.Matched, "Explain %s", c.Name)
		assert.Equal(t, c.Want, x.Matched, "Explain %s", c.Name)
		checkExplanation(t, c.Name, c.Segment, x)
		want, err := prog.MatchJSON([]byte(c.Contact))
		require.NoError(t, err, c.Name)
		xj, err := prog.ExplainJSON([]byte(c.Contact))
		require.NoError(t, err, c.Name)
		require.Equal(t, want, xj.Matched, "ExplainJSON %s", c.Name)
		checkExplanation(t, c.Name, c.Segment, xj)
		_, err = json.Marshal(xj)
		require.NoError(t, err, c.Name)
	}
}

// TestExplainProperty: the property test's random pairs (same seed, same
// generator), through Explain and ExplainJSON.
func TestExplainProperty(t *testing.T) {
	segments, contacts := 10000, 6
	if testing.Short() {
		segments = 1500
	}
	g := randgen.New(20260315)
	now := segmatch.WithNow(func() time.Time { return randgen.Now })
	pairs := 0
	for i := range segments {
		cs := make([]map[string]any, contacts)
		for j := range cs {
			cs[j] = g.Contact()
		}
		gen := g.Segment()
		// as a client sends it: through its JSON form
		var seg filter.Segment
		require.NoError(t, json.Unmarshal([]byte(mustJSON(gen)), &seg))
		prog, err := segmatch.Compile(seg, now)
		require.NoError(t, err, "segment %d", i)
		for _, c := range cs {
			pairs++
			name := fmt.Sprintf("segment %d %s contact %s", i, mustJSON(seg), mustJSON(c))
			x := prog.Explain(c)
			if x.Matched != prog.Match(c) {
				t.Fatalf("%s: Explain %v, Match %v", name, x.Matched, !x.Matched)
			}
			checkExplanation(t, name, seg, x)
			raw, err := json.Marshal(c)
			require.NoError(t, err)
			want, err := prog.MatchJSON(raw)
			require.NoError(t, err)
			xj, err := prog.ExplainJSON(raw)
			require.NoError(t, err)
			if xj.Matched != want {
				t.Fatalf("%s: ExplainJSON %v, MatchJSON %v", name, xj.Matched, want)
			}
			checkExplanation(t, name, seg, xj)
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	t.Logf("%d pairs", pairs)
}

// checkExplanation checks that x reports every condition of seg (those
// inside elem_match values in the groups explained per element) at its
// pointer, as written, and that every group's result is its filters'.
func checkExplanation(t *testing.T, name string, seg filter.Segment, x *segmatch.Explanation) {
	t.Helper()
	require.NotNil(t, x.Root, name)
	assert.Equal(t, x.Matched, x.Root.Result, name)
	assert.Empty(t, x.Root.Pointer, name)
	checkGroup(t, name, seg.Match, seg.Filters, false, "", x.Root)
}

func checkGroup(t *testing.T, name string, match filter.Match, fs []filter.Filter, negate bool, ptr string, g *segmatch.ExplainGroup) {
	t.Helper()
	wantMatch := "all"
	if match == filter.Any {
		wantMatch = "any"
	}
	assert.Equal(t, ptr, g.Pointer, name)
	assert.Equal(t, wantMatch, g.Match, "%s: %s", name, ptr)
	assert.Equal(t, negate, g.Negate, "%s: %s", name, ptr)
	if !assert.Len(t, g.Filters, len(fs), "%s: %s", name, ptr) {
		return
	}
	all, some := true, false
	for i := range fs {
		f := &fs[i]
		kptr := fmt.Sprintf("%s/filters/%d", ptr, i)
		ef := g.Filters[i]
		var res bool
		if f.IsGroup() {
			if !assert.NotNil(t, ef.Group, "%s: %s", name, kptr) || !assert.Nil(t, ef.Condition, name) {
				continue
			}
			checkGroup(t, name, f.Match, f.Filters, f.Negate, kptr, ef.Group)
			res = ef.Group.Result
		} else {
			if !assert.NotNil(t, ef.Condition, "%s: %s", name, kptr) || !assert.Nil(t, ef.Group, name) {
				continue
			}
			checkCondition(t, name, f, kptr, ef.Condition)
			res = ef.Condition.Result
		}
		all, some = all && res, some || res
	}
	want := all
	if match == filter.Any {
		want = some || len(fs) == 0
	}
	assert.Equal(t, want != negate, g.Result, "%s: group %s", name, ptr)
}

func checkCondition(t *testing.T, name string, f *filter.Filter, ptr string, c *segmatch.ExplainCondition) {
	t.Helper()
	assert.Equal(t, ptr, c.Pointer, name)
	assert.Equal(t, f.Field, c.Field, "%s: %s", name, ptr)
	assert.Equal(t, f.Operator, c.Operator, "%s: %s", name, ptr)
	assert.Equal(t, f.Negate, c.Negate, "%s: %s", name, ptr)
	assert.Equal(t, f.IgnoreCase, c.IgnoreCase, "%s: %s", name, ptr)
	var want bytes.Buffer
	if len(f.Value) > 0 {
		require.NoError(t, json.Compact(&want, f.Value))
	}
	if len(f.Value) == 0 {
		assert.Empty(t, c.Value, "%s: %s", name, ptr)
	} else if want.Len() > segmatch.MaxExplainFilterValueBytes {
		assert.Empty(t, c.Value, "%s: %s", name, ptr)
		assert.True(t, c.ValueTruncated, "%s: %s", name, ptr)
		assert.True(t, strings.HasPrefix(want.String(), c.ValuePreview), "%s: %s", name, ptr)
	} else {
		assert.Equal(t, want.String(), string(c.Value), "%s: %s", name, ptr)
	}
	assert.NotEmpty(t, c.Contact.Kind, "%s: %s", name, ptr)
	if c.Contact.Kind == "missing" {
		assert.Empty(t, c.Contact.Value, "%s: %s", name, ptr)
	} else if !c.Contact.Truncated {
		assert.True(t, json.Valid(c.Contact.Value), "%s: %s: %q", name, ptr, c.Contact.Value)
	}
	if f.Operator != "elem_match" {
		assert.Nil(t, c.Elements, "%s: %s", name, ptr)
		return
	}
	if !assert.NotNil(t, c.Elements, "%s: %s", name, ptr) {
		return
	}
	el := c.Elements
	// elem_match has no negative twin: before negate, the condition is
	// "some element satisfies the group".
	assert.Equal(t, c.Result != c.Negate, len(el.Matched) > 0, "%s: %s: %+v", name, ptr, el.Matched)
	assert.LessOrEqual(t, len(el.Explained), segmatch.MaxExplainElements, name)
	if el.Count <= segmatch.MaxExplainElements {
		assert.Len(t, el.Explained, el.Count, "%s: %s", name, ptr)
	}
	grp, err := filter.DecodeGroup(f.Value, ptr+"/value", 2)
	require.NoError(t, err, name)
	matched := map[int]bool{}
	for _, i := range el.Matched {
		matched[i] = true
	}
	for j, e := range el.Explained {
		assert.Equal(t, j, e.Index, name)
		assert.Equal(t, matched[e.Index], e.Result, "%s: %s element %d", name, ptr, e.Index)
		assert.Equal(t, e.Result, e.Group.Result, name)
		checkGroup(t, name, grp.Match, grp.Filters, grp.Negate, ptr+"/value", e.Group)
	}
}

// TestExplainJSONErrors: input that is not one JSON object is MatchJSON's
// typed error, word for word.
func TestExplainJSONErrors(t *testing.T) {
	prog, err := segmatch.Compile(benchSegment)
	require.NoError(t, err)
	for _, in := range []string{``, ` `, `[1]`, `"x"`, `null`, `3`, `{`, `{"a":}`, `{} {}`, `{"a":1}x`} {
		_, want := prog.MatchJSON([]byte(in))
		require.Error(t, want, in)
		x, err := prog.ExplainJSON([]byte(in))
		assert.Nil(t, x, in)
		require.Error(t, err, in)
		assert.Equal(t, want.Error(), err.Error(), in)
		for _, sentinel := range []error{segmatch.ErrMalformedContact, segmatch.ErrNotObject} {
			assert.Equal(t, errors.Is(want, sentinel), errors.Is(err, sentinel), "%s: %v", in, sentinel)
		}
	}
	_, err = prog.ExplainJSON([]byte(`[1]`))
	assert.ErrorIs(t, err, segmatch.ErrNotObject)
	_, err = prog.ExplainJSON([]byte(`{`))
	assert.ErrorIs(t, err, segmatch.ErrMalformedContact)
}

// explainSegment touches every kind of reading: a nested group, a
// negated condition, an alias, ignore_case, a fan-out, a missing field,
// null, elem_match.
const explainSegment = `{"_id": "s1", "name": "explained", "match": "all", "filters": [
  {"field": "attributes.country", "operator": "=", "value": "IT"},
  {"match": "any", "negate": true, "filters": [
    {"field": "email", "operator": "ends with", "value": "@BIGCO.com", "ignore_case": true},
    {"field": "phone", "operator": "is_set"}
  ]},
  {"field": "orders.sku", "operator": "starts_with", "value": ["PRO-", "ENT-"]},
  {"field": "orders", "operator": "elem_match", "value": {"filters": [
    {"field": "sku", "operator": "=", "value": "PRO-1"},
    {"field": "qty", "operator": ">", "value": 1}
  ]}},
  {"field": "tags", "operator": "contains", "value": "vip", "negate": true}
]}`

const explainContact = `{"attributes": {"country": "IT"}, "email": "a@bigco.com", "phone": null,
  "orders": [{"sku": "PRO-1", "qty": 1}, {"sku": "B-2", "qty": 5}, {"sku": "PRO-1", "qty": 2.50}],
  "tags": ["vip"]}`

func compileDocProg(t *testing.T, doc string) *segmatch.Program {
	t.Helper()
	seg, err := filter.DecodeSegment([]byte(doc))
	require.NoError(t, err)
	prog, err := segmatch.Compile(seg)
	require.NoError(t, err)
	return prog
}

// TestExplainShape pins the JSON an explanation marshals to.
func TestExplainShape(t *testing.T) {
	prog := compileDocProg(t, explainSegment)
	xj, err := prog.ExplainJSON([]byte(explainContact))
	require.NoError(t, err)
	got, err := json.Marshal(xj)
	require.NoError(t, err)
	elemGroup := func(i int, res, skuRes, qtyRes bool, sku, qty string) string {
		return fmt.Sprintf(`{"index":%d,"result":%v,"group":{"pointer":"/filters/3/value","match":"all","negate":false,"result":%v,"filters":[
		  {"condition":{"pointer":"/filters/3/value/filters/0","field":"sku","operator":"=","value":"PRO-1","ignore_case":false,"negate":false,"contact":{"kind":"string","value":%s},"result":%v}},
		  {"condition":{"pointer":"/filters/3/value/filters/1","field":"qty","operator":">","value":1,"ignore_case":false,"negate":false,"contact":{"kind":"number","value":%s},"result":%v}}]}}`,
			i, res, res, sku, skuRes, qty, qtyRes)
	}
	want := `{"segment":"s1","matched":false,"root":{"pointer":"","match":"all","negate":false,"result":false,"filters":[
	  {"condition":{"pointer":"/filters/0","field":"attributes.country","operator":"=","value":"IT","ignore_case":false,"negate":false,"contact":{"kind":"string","value":"IT"},"result":true}},
	  {"group":{"pointer":"/filters/1","match":"any","negate":true,"result":false,"filters":[
	    {"condition":{"pointer":"/filters/1/filters/0","field":"email","operator":"ends with","value":"@BIGCO.com","ignore_case":true,"negate":false,"contact":{"kind":"string","value":"a@bigco.com"},"result":true}},
	    {"condition":{"pointer":"/filters/1/filters/1","field":"phone","operator":"is_set","ignore_case":false,"negate":false,"contact":{"kind":"null","value":null},"result":false}}]}},
	  {"condition":{"pointer":"/filters/2","field":"orders.sku","operator":"starts_with","value":["PRO-","ENT-"],"ignore_case":false,"negate":false,"contact":{"kind":"array","value":["PRO-1","B-2","PRO-1"],"fan_out":true},"result":true}},
	  {"condition":{"pointer":"/filters/3","field":"orders","operator":"elem_match","value":{"filters":[{"field":"sku","operator":"=","value":"PRO-1"},{"field":"qty","operator":">","value":1}]},"ignore_case":false,"negate":false,
	    "contact":{"kind":"array","value":[{"sku":"PRO-1","qty":1},{"sku":"B-2","qty":5},{"sku":"PRO-1","qty":2.50}]},"result":true,
	    "elements":{"count":3,"matched":[2],"explained":[` +
		elemGroup(0, false, true, false, `"PRO-1"`, `1`) + `,` +
		elemGroup(1, false, false, true, `"B-2"`, `5`) + `,` +
		elemGroup(2, true, true, true, `"PRO-1"`, `2.5`) + `]}}},
	  {"condition":{"pointer":"/filters/4","field":"tags","operator":"contains","value":"vip","ignore_case":false,"negate":true,"contact":{"kind":"array","value":["vip"]},"result":false}}]}}`
	assert.JSONEq(t, want, string(got))
	// raw JSON keeps the contact's own digits where it is one piece of it
	assert.Contains(t, string(got), `{"sku":"PRO-1","qty":2.50}`)

	// The decoded contact reads the same, but for the digits.
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(explainContact), &m))
	x := prog.Explain(m)
	gotGo, err := json.Marshal(x)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(gotGo))
	assert.Equal(t, prog.Match(m), x.Matched)
}

// TestExplainReadings: what a condition's contact reading says for each
// kind of value, from raw and decoded contacts alike.
func TestExplainReadings(t *testing.T) {
	long := strings.Repeat("é", segmatch.MaxExplainValueBytes) // 2 bytes a rune
	for _, c := range []struct {
		field, contact string
		want           segmatch.FieldReading
	}{
		{"a", `{}`, segmatch.FieldReading{Kind: "missing"}},
		{"a", `{"a":null}`, segmatch.FieldReading{Kind: "null", Value: json.RawMessage(`null`)}},
		{"a", `{"a":true}`, segmatch.FieldReading{Kind: "bool", Value: json.RawMessage(`true`)}},
		{"a", `{"a":"x<y"}`, segmatch.FieldReading{Kind: "string", Value: json.RawMessage(`"x<y"`)}},
		{"a", `{"a":{"b": [1, 2]}}`, segmatch.FieldReading{Kind: "object", Value: json.RawMessage(`{"b":[1,2]}`)}},
		{"a.b", `{"a":[{"b":1},{"c":2},{"b":[3,4]}]}`, segmatch.FieldReading{Kind: "array", Value: json.RawMessage(`[1,3,4]`), FanOut: true}},
		{"a.b", `{"a":[{"c":2}]}`, segmatch.FieldReading{Kind: "missing"}},
		{"a.#", `{"a":[5,6]}`, segmatch.FieldReading{Kind: "number", Value: json.RawMessage(`2`)}},
		{"a.1", `{"a":[5,6]}`, segmatch.FieldReading{Kind: "number", Value: json.RawMessage(`6`)}},
		{"", `{"a":1}`, segmatch.FieldReading{Kind: "object", Value: json.RawMessage(`{"a":1}`)}},
	} {
		prog := compileDocProg(t, `{"filters":[{"field":"`+c.field+`","operator":"is_set"}]}`)
		xj, err := prog.ExplainJSON([]byte(c.contact))
		require.NoError(t, err)
		assert.Equal(t, c.want, xj.Root.Filters[0].Condition.Contact, "raw %s %s", c.field, c.contact)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.contact), &m))
		assert.Equal(t, c.want, prog.Explain(m).Root.Filters[0].Condition.Contact, "decoded %s %s", c.field, c.contact)
	}

	// Beyond MaxExplainValueBytes, a preview (cut between runes).
	prog := compileDocProg(t, `{"filters":[{"field":"a","operator":"is_set"},{"field":"b.c","operator":"is_set"}]}`)
	raw := []byte(`{"a":"` + long + `","b":[{"c":"` + long + `"}]}`)
	xj, err := prog.ExplainJSON(raw)
	require.NoError(t, err)
	for _, f := range xj.Root.Filters {
		r := f.Condition.Contact
		assert.True(t, r.Truncated, f.Condition.Field)
		assert.Empty(t, r.Value)
		assert.LessOrEqual(t, len(r.Preview), segmatch.MaxExplainValueBytes)
		assert.Greater(t, len(r.Preview), segmatch.MaxExplainValueBytes-8)
		assert.True(t, strings.HasPrefix(r.Preview, `"éé`) || strings.HasPrefix(r.Preview, `["éé`), r.Preview[:10])
	}
	// Beyond float64, the contact's own digits.
	prog = compileDocProg(t, `{"filters":[{"field":"n","operator":">","value":5}]}`)
	xj, err = prog.ExplainJSON([]byte(`{"n": 1e400}`))
	require.NoError(t, err)
	assert.Equal(t, `1e400`, string(xj.Root.Filters[0].Condition.Contact.Value))
	// The explanation holds no reference to the contact's bytes.
	raw = []byte(`{"n": "abc"}`)
	xj, err = prog.ExplainJSON(raw)
	require.NoError(t, err)
	copy(raw, bytes.Repeat([]byte{'x'}, len(raw)))
	assert.Equal(t, `"abc"`, string(xj.Root.Filters[0].Condition.Contact.Value))

	// A filter value beyond MaxExplainFilterValueBytes: its start.
	var in strings.Builder
	in.WriteString(`{"filters":[{"field":"id","operator":"in","value":[`)
	for i := range 20_000 {
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, `"id-%d"`, i)
	}
	in.WriteString(`]}]}`)
	seg, err := filter.DecodeSegment([]byte(in.String()))
	require.NoError(t, err)
	prog, err = segmatch.Compile(seg)
	require.NoError(t, err)
	xj, err = prog.ExplainJSON([]byte(`{"id":"id-19999"}`))
	require.NoError(t, err)
	c := xj.Root.Filters[0].Condition
	assert.True(t, xj.Matched)
	assert.True(t, c.ValueTruncated)
	assert.Empty(t, c.Value)
	assert.True(t, strings.HasPrefix(c.ValuePreview, `["id-0","id-1",`), c.ValuePreview[:20])
	assert.Len(t, c.ValuePreview, segmatch.MaxExplainValueBytes)
	checkExplanation(t, "big in", seg, xj)
}

// TestExplainElementBounds: an elem_match explains its group on the first
// MaxExplainElements elements and still reports every match; nested
// element trees stop at MaxExplainNodes.
func TestExplainElementBounds(t *testing.T) {
	prog := compileDocProg(t, `{"filters":[{"field":"a","operator":"elem_match","value":{"filters":[{"field":"","operator":">","value":5}]}}]}`)
	var b strings.Builder
	b.WriteString(`{"a":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, i)
	}
	b.WriteString(`]}`)
	xj, err := prog.ExplainJSON([]byte(b.String()))
	require.NoError(t, err)
	el := xj.Root.Filters[0].Condition.Elements
	assert.Equal(t, 100, el.Count)
	assert.Len(t, el.Matched, 94)
	assert.Equal(t, 6, el.Matched[0])
	assert.Len(t, el.Explained, segmatch.MaxExplainElements)
	assert.True(t, xj.Matched)
	assert.Contains(t, xj.String(), "… 92 more elements not explained")

	// elem_match nested 6 deep over 8 elements a level: 8^6 element trees
	// unless bounded.
	doc := `{"field":"","operator":">","value":0}`
	contact := `1`
	for range 6 {
		doc = `{"field":"a","operator":"elem_match","value":{"filters":[` + doc + `]}}`
		contact = `{"a":[` + strings.TrimSuffix(strings.Repeat(contact+",", 8), ",") + `]}`
	}
	prog = compileDocProg(t, `{"filters":[`+doc+`]}`)
	xj, err = prog.ExplainJSON([]byte(contact))
	require.NoError(t, err)
	assert.True(t, xj.Matched)
	nodes := 0
	var count func(g *segmatch.ExplainGroup)
	count = func(g *segmatch.ExplainGroup) {
		nodes++
		for _, f := range g.Filters {
			if f.Group != nil {
				count(f.Group)
				continue
			}
			nodes++
			if f.Condition.Elements != nil {
				for _, e := range f.Condition.Elements.Explained {
					count(e.Group)
				}
			}
		}
	}
	count(xj.Root)
	assert.LessOrEqual(t, nodes, segmatch.MaxExplainNodes+64)
	assert.Greater(t, nodes, segmatch.MaxExplainNodes/2)
}
