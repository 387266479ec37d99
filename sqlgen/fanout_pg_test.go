package sqlgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
)

// nest wraps x in depth arrays.
func nest(x any, depth int) any {
	for range depth {
		x = []any{x}
	}
	return x
}

// TestFanOutDepths: a fan-out reads arrays nested at any depth as the
// engine does, whether the SQL/JSON path flattens them (up to three
// levels) or segmatch_get takes over (deeper); at every depth, before
// each key, and for the tests read by a jsonpath filter (string and bool
// equality) as well as the others.
func TestFanOutDepths(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	var contacts []map[string]any
	for d1 := range 6 {
		for d2 := range 6 {
			for _, v := range []any{"A1", true, 3, "2026-03-10T00:00:00Z", []any{"A1", "x"}, []any{[]any{"A1"}}, map[string]any{}, []any{}, nil} {
				contacts = append(contacts, map[string]any{
					"orders": nest(map[string]any{"sku": nest(v, d2), "k.y": v}, d1),
					"a":      nest(map[string]any{"b": nest(map[string]any{"c": v}, d2)}, d1),
				})
			}
		}
	}
	contacts = append(contacts, map[string]any{"orders": []any{[]any{1, []any{map[string]any{"sku": "A1"}}}, "A1", nil}})
	raws := make([][]byte, len(contacts))
	for i, c := range contacts {
		raws[i], _ = json.Marshal(c)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for i, r := range raws {
		if _, err := db.Exec(ctx, "INSERT INTO contacts VALUES ($1, $2::text::jsonb)", i, string(r)); err != nil {
			t.Fatal(err)
		}
	}
	var segs []filter.Segment
	for _, field := range []string{"orders.sku", "a.b.c", "orders.k\\.y", "orders"} {
		for _, f := range []filter.Filter{
			filter.Cond(field, "=", "A1"),
			filter.Cond(field, "!=", "A1"),
			filter.Cond(field, "=", true),
			filter.Cond(field, "in", []any{"A1", "zz", false}),
			filter.Cond(field, "in", []any{"A1", nil}),
			filter.Cond(field, "contains_all", []any{"A1", "x"}),
			filter.Cond(field, "contains_any", []any{"x", 3}),
			filter.Cond(field, ">=", 3),
			filter.Cond(field, "contains", "A"),
			filter.Cond(field, "within_last", "30d"),
			filter.Cond(field, "before", "2026-03-11"),
			filter.CondNoValue(field, "is_set"),
			filter.CondNoValue(field, "is_empty"),
			{Field: field, Operator: "=", Value: filter.ValueOf("a1"), IgnoreCase: true},
		} {
			segs = append(segs, filter.Segment{Filters: []filter.Filter{f}})
		}
	}
	checked, nonTrivial := 0, 0
	for _, seg := range segs {
		got, clause, args, err := selectIDs(ctx, db, seg, randgen.Now)
		if err != nil {
			t.Fatalf("%v\n%s", err, clause)
		}
		want := memIDs(t, seg, raws, randgen.Now)
		checked++
		if len(want) > 0 && len(want) < len(raws) {
			nonTrivial++
		}
		if !slices.Equal(got, want) {
			onlySQL, onlyMem := diff(got, want)
			sj, _ := json.Marshal(seg)
			msg := fmt.Sprintf("%s: SQL %d, memory %d\nargs: %q", sj, len(got), len(want), args)
			for _, id := range append(onlySQL[:min(3, len(onlySQL))], onlyMem[:min(3, len(onlyMem))]...) {
				msg += fmt.Sprintf("\n  contact %d (sql=%v): %s", id, slices.Contains(got, id), raws[id])
			}
			t.Error(msg)
		}
	}
	t.Logf("%d segments x %d contacts agree (%d with a non-trivial audience)", checked, len(raws), nonTrivial)
	if nonTrivial < checked/2 {
		t.Fatalf("only %d of %d segments tell contacts apart", nonTrivial, checked)
	}
}
