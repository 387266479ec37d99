package engine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// A sender compiles its segments once and classifies contacts; each field
// is read once per contact whatever the number of segments.
func ExampleEngine_ClassifyJSON() {
	eng, err := engine.New([]filter.Segment{
		{ID: "it", Name: "Italy", Filters: []filter.Filter{filter.Cond("country", "eq", "IT")}},
		{ID: "vip", Name: "VIPs", Filters: []filter.Filter{filter.Cond("tags", "contains", "vip")}},
		{Name: "everyone"}, // no id: known by its name
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, err := eng.ClassifyJSON([]byte(`{"country": "IT", "tags": ["vip"]}`))
	fmt.Println(ids, err)
	_, err = eng.ClassifyJSON([]byte(`["not", "an", "object"]`))
	fmt.Println(err)
	// Output:
	// [it vip everyone] <nil>
	// contact is not a JSON object
}

// A batch job streams JSON Lines through every core; lines come back in
// input order, bad ones with their line number.
func ExampleEngine_ClassifyStream() {
	eng, _ := engine.New([]filter.Segment{
		{ID: "adult", Filters: []filter.Filter{filter.Cond("age", "gte", 18)}},
	})
	in := strings.NewReader("{\"age\": 30}\n{\"age\": \"12\"}\n{oops\n{\"age\": \"18\"}\n")
	st, err := eng.ClassifyStream(context.Background(), in, func(l *engine.Line) error {
		if l.Err != nil {
			fmt.Println(l.Number, "bad:", l.Err)
			return nil
		}
		fmt.Println(l.Number, l.Result.AppendIDs(nil))
		return nil
	}, engine.StreamOptions{})
	fmt.Println(st.Contacts, st.Bad, err)
	// Output:
	// 1 [adult]
	// 2 []
	// 3 bad: line 3: malformed JSON at byte 1: want an object key
	// 4 [adult]
	// 3 1 <nil>
}
