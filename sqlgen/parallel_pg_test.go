package sqlgen_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/sqlgen"
)

// TestParallelPlans: the clauses of equality, membership and date
// conditions, on plain and fanning-out fields, hold no subquery, so that
// PostgreSQL can scan for them with parallel workers (a correlated
// subquery keeps a plan in one process): with parallelism made free, the
// plan is a parallel scan.
func TestParallelPlans(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"parallel_setup_cost = 0", "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0", "max_parallel_workers_per_gather = 2"} {
		if _, err := db.Exec(ctx, "SET "+set); err != nil {
			t.Fatal(err)
		}
	}
	for _, seg := range []filter.Segment{
		{Match: filter.Any, Filters: []filter.Filter{filter.Cond("orders.sku", "in", []any{"A1", "B2"}), filter.Cond("createdAt", "within_last", "30d")}},
		{Filters: []filter.Filter{filter.Cond("country", "=", "IT")}},
		{Filters: []filter.Filter{filter.Cond("tags", "contains_all", []any{"vip", "gold"})}},
		{Filters: []filter.Filter{filter.Cond("orders.tags", "contains_any", []any{"vip", true})}},
		{Filters: []filter.Filter{filter.Cond("a.b.c", "!=", "x")}},
		{Filters: []filter.Filter{filter.Cond("createdAt", "before", "2026-03-01")}},
		{Filters: []filter.Filter{filter.Cond("orders.at", "after", 1.7e12)}},
		{Filters: []filter.Filter{filter.Cond("orders.at", "date_between", []any{"2026-01-01", "2026-02-01"})}},
		{Filters: []filter.Filter{filter.Cond("createdAt", "within_next", "10000y")}},
	} {
		clause, args, err := sqlgen.Where(seg, "doc", sqlgen.WithNow(randgen.Now))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, "EXPLAIN (COSTS OFF) SELECT id FROM contacts WHERE "+clause, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Parallel Seq Scan") || strings.Contains(plan, "SubPlan") {
			sj, _ := json.Marshal(seg)
			t.Errorf("%s: not a parallel plan without subqueries:\n%s", sj, plan)
		}
	}
}
