package sqlgen_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"syscall"
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
// SEGMATCH_PG_BENCH is set. Beside the wall-clock times it reports CPU
// seconds, which other load on the machine disturbs far less: the
// server's when it runs on this machine, as with .ci/pg (the backend's
// from /proc/PID/schedstat, plus its parallel workers', which the
// postmaster's reaped children's time holds), the test process's from
// getrusage:
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
	var backend int
	if err := db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		t.Fatal(err)
	}
	serverCPU := func() time.Duration {
		time.Sleep(100 * time.Millisecond) // the postmaster reaps the workers
		return backendCPU(backend) + childrenCPU(parentPID(backend))
	}
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
	for _, name := range names {
		s0 := serverCPU()
		d, c := sqlTime(segs[name])
		s1, g1 := serverCPU(), processCPU()
		gd, gc := goTime(segs[name])
		s2, g2 := serverCPU(), processCPU()
		if c != gc {
			t.Errorf("%s: SQL %d members, Go %d", name, c, gc)
		}
		sqlCPU, streamCPU := s1-s0, s2-s1+g2-g1
		t.Logf("%-42s members %7d  SQL (no index) %v (cpu %.2fs)  stream+MatchJSON %v (cpu %.2fs: server %.2fs + Go %.2fs)  cpu ratio %.2f",
			name, c, d.Round(time.Millisecond), sqlCPU.Seconds(), gd.Round(time.Millisecond), streamCPU.Seconds(), (s2 - s1).Seconds(), (g2 - g1).Seconds(), sqlCPU.Seconds()/streamCPU.Seconds())
	}
	st = time.Now()
	if _, err := db.Exec(ctx, "CREATE INDEX contacts_doc_gin ON contacts USING gin (doc)"); err != nil {
		t.Fatal(err)
	}
	_, _ = db.Exec(ctx, "ANALYZE contacts")
	t.Logf("GIN index (jsonb_ops) built in %v", time.Since(st))
	for _, name := range names {
		s0 := serverCPU()
		d, c := sqlTime(segs[name])
		t.Logf("%-42s members %7d  SQL (GIN)      %v (cpu %.2fs)", name, c, d.Round(time.Millisecond), (serverCPU() - s0).Seconds())
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

// backendCPU is the CPU time the server process pid has used (0 when its
// /proc entry cannot be read: a server on another machine).
func backendCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	ns, _ := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns)
}

// procStat is the fields of /proc/PID/stat after the command's name
// (field 3, the state, first), nil when it cannot be read.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// parentPID is the parent of process pid (for a backend, the postmaster).
func parentPID(pid int) int {
	f := procStat(pid)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// childrenCPU is the CPU time of the reaped children of process pid
// (cutime and cstime, in clock ticks of 1/100 s).
func childrenCPU(pid int) time.Duration {
	f := procStat(pid)
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.ParseInt(f[13], 10, 64)
	s, _ := strconv.ParseInt(f[14], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
