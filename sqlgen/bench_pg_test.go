package sqlgen_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/sqlgen"
)

// TestPushdownBenchmark compares, on SEGMATCH_PG_BENCH_N generated contacts
// (default one million) in PostgreSQL, selecting a segment's members in SQL
// (without, then with a GIN index on the jsonb column) against streaming
// every row to Go through Program.MatchJSON. It runs only when
// SEGMATCH_PG_BENCH is set:
//
//	source .ci/pg && SEGMATCH_PG_BENCH=1 go test ./sqlgen -run TestPushdownBenchmark -v -timeout 60m
func TestPushdownBenchmark(t *testing.T) {
	if os.Getenv("SEGMATCH_PG_BENCH") == "" {
		t.Skip("set SEGMATCH_PG_BENCH=1 (and SEGMATCH_PG_DSN) to run the pushdown benchmark")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SEGMATCH_PG_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	db := testDB(t)
	ctx := context.Background()
	g := randgen.New(1)
	st := time.Now()
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	const batch = 20000
	for lo := 0; lo < n; lo += batch {
		rows := make([][]any, 0, batch)
		for i := lo; i < min(n, lo+batch); i++ {
			var raw []byte
			for {
				raw, _ = json.Marshal(g.Contact())
				if !containsNUL(raw) {
					break
				}
			}
			rows = append(rows, []any{i, string(raw)})
		}
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"id", "doc"}, pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, "VACUUM ANALYZE contacts"); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d contacts in %v", n, time.Since(st))

	segs := map[string]filter.Segment{
		"eq country (GIN-able)":        {Filters: []filter.Filter{filter.Cond("country", "=", "IT")}},
		"tags contains_all (GIN-able)": {Filters: []filter.Filter{filter.Cond("tags", "contains_all", []any{"vip", "gold"})}},
		"numeric gte + ends_with ignore_case": {Filters: []filter.Filter{
			filter.Cond("attributes.orders", ">=", 3),
			{Field: "email", Operator: "ends_with", Value: filter.ValueOf("@bigco.com"), IgnoreCase: true}}},
		"fan-out orders.sku in + date within_last": {Match: filter.Any, Filters: []filter.Filter{
			filter.Cond("orders.sku", "in", []any{"A1", "B2"}),
			filter.Cond("createdAt", "within_last", "30d")}},
	}
	names := []string{"eq country (GIN-able)", "tags contains_all (GIN-able)", "numeric gte + ends_with ignore_case", "fan-out orders.sku in + date within_last"}
	now := randgen.Now
	sqlTime := func(seg filter.Segment) (time.Duration, int) {
		clause, args, err := sqlgen.Where(seg, "doc", sqlgen.WithNow(now))
		if err != nil {
			t.Fatal(err)
		}
		st := time.Now()
		rows, err := db.Query(ctx, "SELECT id FROM contacts WHERE "+clause, args...)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return time.Since(st), len(ids)
	}
	goTime := func(seg filter.Segment) (time.Duration, int) {
		prog, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		st := time.Now()
		rows, err := db.Query(ctx, "SELECT id, doc::text FROM contacts")
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		var id int
		var doc []byte
		for rows.Next() {
			if err := rows.Scan(&id, &doc); err != nil {
				t.Fatal(err)
			}
			if ok, _ := prog.MatchJSON(doc); ok {
				count++
			}
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return time.Since(st), count
	}
	type result struct{ sql, gin, stream time.Duration }
	res := map[string]*result{}
	for _, name := range names {
		d, c := sqlTime(segs[name])
		gd, gc := goTime(segs[name])
		if c != gc {
			t.Errorf("%s: SQL %d members, Go %d", name, c, gc)
		}
		res[name] = &result{sql: d, stream: gd}
		t.Logf("%-42s members %7d  SQL (no index) %v  stream+MatchJSON %v", name, c, d.Round(time.Millisecond), gd.Round(time.Millisecond))
	}
	st = time.Now()
	if _, err := db.Exec(ctx, "CREATE INDEX contacts_doc_gin ON contacts USING gin (doc)"); err != nil {
		t.Fatal(err)
	}
	_, _ = db.Exec(ctx, "ANALYZE contacts")
	t.Logf("GIN index (jsonb_ops) built in %v", time.Since(st))
	for _, name := range names {
		d, c := sqlTime(segs[name])
		res[name].gin = d
		t.Logf("%-42s members %7d  SQL (GIN)      %v", name, c, d.Round(time.Millisecond))
	}
}

func containsNUL(b []byte) bool {
	for i := 0; i+5 < len(b); i++ {
		if b[i] == '\\' && string(b[i+1:i+6]) == "u0000" {
			return true
		}
	}
	return false
}
