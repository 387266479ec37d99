package segmatch_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// A segment as Tiledesk stores it, compiled once and asked about contacts.
func ExampleCompile() {
	doc := []byte(`{
	  "_id": "65f1c0ffee0000000000a001",
	  "name": "Italian VIPs",
	  "match": "all",
	  "filters": [
	    {"field": "attributes.country", "operator": "=", "value": "IT"},
	    {"field": "tags", "operator": "contains", "value": "vip"},
	    {"match": "any", "filters": [
	      {"field": "attributes.orders", "operator": ">=", "value": 3},
	      {"field": "email", "operator": "ends with", "value": "@bigco.com", "ignore_case": true}
	    ]}
	  ]
	}`)
	var seg filter.Segment
	if err := json.Unmarshal(doc, &seg); err != nil {
		fmt.Println(err)
		return
	}
	prog, err := segmatch.Compile(seg)
	if err != nil {
		fmt.Println(err)
		return
	}
	giulia := map[string]any{
		"email": "giulia@BigCo.com",
		"tags":  []any{"lead", "vip"},
		// forms store numbers as strings: "2" still compares as a number
		"attributes": map[string]any{"country": "IT", "orders": "2"},
	}
	marco := map[string]any{"tags": []any{"vip"}, "attributes": map[string]any{"country": "FR", "orders": 9.0}}
	fmt.Println(prog.Key(), prog.Match(giulia), prog.Match(marco))
	fmt.Println(prog.Fields())
	// Output:
	// 65f1c0ffee0000000000a001 true false
	// [attributes.country tags attributes.orders email]
}

// Raw JSON contacts are read without decoding them; only malformed input
// is an error.
func ExampleProgram_MatchJSON() {
	seg := filter.Segment{Name: "recent buyers", Filters: []filter.Filter{
		filter.Cond("orders.date", "within_last", "30d"),
		filter.Cond("orders.sku", "starts_with", "PRO-"),
	}}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	prog, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now }))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, contact := range []string{
		`{"orders": [{"sku": "PRO-1", "date": "2026-11-20"}]}`,
		`{"orders": [{"sku": "PRO-1", "date": "2026-01-20"}]}`,
		`{"orders": [}`,
	} {
		ok, err := prog.MatchJSON([]byte(contact))
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// false <nil>
	// false malformed JSON at byte 12: unexpected '}'
}

// Every problem is reported at once, each with the JSON Pointer of its
// place in the segment document and a sentinel for errors.Is.
func ExampleCompile_errors() {
	seg := filter.Segment{Name: "broken", Match: "all", Filters: []filter.Filter{
		filter.Cond("country", "equals", "IT"),
		filter.Cond("email", "regex", "(unclosed"),
		filter.Cond("createdAt", "within_last", "7 days"),
		filter.Cond("plan", "smells_like", "gold"),
	}}
	_, err := segmatch.Compile(seg)
	fmt.Println(err)
	fmt.Println(errors.Is(err, segmatch.ErrUnknownOperator), errors.Is(err, segmatch.ErrBadValue))
	var ce *segmatch.CompileError
	if errors.As(err, &ce) {
		fmt.Println("first problem at", ce.Path)
	}
	// Output:
	// /filters/1/value: bad value: error parsing regexp: missing closing ): `(unclosed`
	// /filters/2/value: bad value: "7 days" is not a duration (an integer and s, m, h, d, w, mo or y)
	// /filters/3/operator: unknown operator "smells_like"
	// true true
	// first problem at /filters/1/value
}

// Explain reports every group and condition of the evaluation, with what
// the contact holds at each field; String prints it as a tree, and it
// marshals to JSON.
func ExampleProgram_Explain() {
	seg := filter.Segment{ID: "vip-it", Filters: []filter.Filter{
		filter.Cond("attributes.country", "=", "IT"),
		filter.Cond("orders.sku", "starts_with", "PRO-"),
		filter.Cond("orders", "elem_match", filter.Group(filter.All,
			filter.Cond("sku", "starts_with", "PRO-"),
			filter.Cond("qty", ">=", 2))),
		filter.Group(filter.Any,
			filter.Cond("attributes.orders", ">=", 3),
			filter.Filter{Field: "email", Operator: "ends with", Value: filter.ValueOf("@bigco.com"), IgnoreCase: true},
		),
	}}
	prog, err := segmatch.Compile(seg)
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := prog.ExplainJSON([]byte(`{"attributes": {"country": "IT", "orders": "2"},
	  "orders": [{"sku": "A-100", "qty": 5}, {"sku": "PRO-7", "qty": 1}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(x)
	b, _ := json.Marshal(x.Root.Filters[1].Condition) // the same tree as JSON
	fmt.Println(string(b))
	// Output:
	// segment vip-it: no match
	// ✗ all
	//   ✓ attributes.country = "IT"  (contact: "IT")  /filters/0
	//   ✓ orders.sku starts_with "PRO-"  (contact: ["A-100","PRO-7"], fan-out)  /filters/1
	//   ✗ orders elem_match {…}  (contact: [{"sku":"A-100","qty":5},{"sku":"PRO-7","qty":1}])  /filters/2  matched elements: [] of 2
	//     ✗ element 0
	//       ✗ all  /filters/2/value
	//         ✗ sku starts_with "PRO-"  (element: "A-100")  /filters/2/value/filters/0
	//         ✓ qty >= 2  (element: 5)  /filters/2/value/filters/1
	//     ✗ element 1
	//       ✗ all  /filters/2/value
	//         ✓ sku starts_with "PRO-"  (element: "PRO-7")  /filters/2/value/filters/0
	//         ✗ qty >= 2  (element: 1)  /filters/2/value/filters/1
	//   ✗ any  /filters/3
	//     ✗ attributes.orders >= 3  (contact: "2")  /filters/3/filters/0
	//     ✗ email ends with "@bigco.com" (ignore_case)  (contact: missing)  /filters/3/filters/1
	// {"pointer":"/filters/1","field":"orders.sku","operator":"starts_with","value":"PRO-","ignore_case":false,"negate":false,"contact":{"kind":"array","value":["A-100","PRO-7"],"fan_out":true},"result":true}
}
