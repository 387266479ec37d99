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
