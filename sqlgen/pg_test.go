package sqlgen_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/sqlgen"
)

// testDB connects to SEGMATCH_PG_DSN (set by `source .ci/pg`), in a fresh
// schema dropped at the end, with the helper functions installed.
func testDB(t testing.TB) *pgx.Conn {
	t.Helper()
	dsn := os.Getenv("SEGMATCH_PG_DSN")
	if dsn == "" {
		t.Skip("SEGMATCH_PG_DSN is unset: run `source .ci/pg` first for the PostgreSQL tests")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("sqlgen_test_%d_%d", os.Getpid(), rand.Int64N(1<<40))
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	cfg.RuntimeParams["jit"] = "off" // JIT compiles these clauses for a second, for nothing
	pool, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close(context.Background())
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(context.Background())
	})
	if err := sqlgen.Install(ctx, pool); err != nil {
		t.Fatalf("install: %v", err)
	}
	return pool
}

// usesExpr reports whether a filter list uses an operator sqlgen does
// not push down (expr, the only one sqlgen.Pushable lists).
func usesExpr(fs []filter.Filter) bool {
	for _, f := range fs {
		if pushable, _ := sqlgen.Pushable(f.Operator); (!f.IsGroup() && !pushable) || usesExpr(f.Filters) {
			return true
		}
		if f.Operator == "elem_match" {
			var sub struct{ Filters []filter.Filter }
			if json.Unmarshal(f.Value, &sub) == nil && usesExpr(sub.Filters) {
				return true
			}
		}
	}
	return false
}

// matchOne evaluates a clause on one contact in the database.
func matchOne(ctx context.Context, db *pgx.Conn, seg filter.Segment, contact string, now time.Time) (bool, string, error) {
	clause, args, err := sqlgen.Where(seg, "doc", sqlgen.WithNow(now), sqlgen.WithFirstParam(1))
	if err != nil {
		return false, "", err
	}
	q := "SELECT EXISTS (SELECT 1 FROM (SELECT $1::text::jsonb AS doc) AS c WHERE " + clause + ")"
	var ok bool
	err = db.QueryRow(ctx, q, append([]any{contact}, args...)...).Scan(&ok)
	return ok, clause, err
}

func TestCasesTable(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	ran, skipped := 0, 0
	for _, c := range cases.All() {
		got, clause, err := matchOne(ctx, db, c.Segment, c.Contact, cases.Now)
		if errors.Is(err, sqlgen.ErrNotPushable) {
			if !usesExpr(c.Segment.Filters) {
				t.Errorf("%s: not pushable without expr: %v", c.Name, err)
			}
			skipped++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", c.Name, err, clause)
			continue
		}
		ran++
		if got != c.Want {
			t.Errorf("%s: SQL says %v, want %v\nclause: %s", c.Name, got, c.Want, clause)
		}
	}
	t.Logf("cases: %d rows through SQL, %d skipped (expr)", ran, skipped)
}

// corpus loads n generated contacts into a table; it returns their JSON.
func corpus(t testing.TB, db *pgx.Conn, g *randgen.Gen, n int) [][]byte {
	ctx := context.Background()
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL text (and so jsonb) cannot hold U+0000: such contacts
	// cannot be stored, so they are regenerated (and counted).
	raws := make([][]byte, n)
	rows := make([][]any, n)
	nul := 0
	for i := range raws {
		for {
			raws[i], _ = json.Marshal(g.Contact())
			if !strings.Contains(string(raws[i]), `\u0000`) {
				break
			}
			nul++
		}
		rows[i] = []any{i, string(raws[i])}
	}
	t.Logf("corpus: %d contacts (%d with U+0000 regenerated: jsonb cannot hold it)", n, nul)
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"id", "doc"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	return raws
}

func selectIDs(ctx context.Context, db *pgx.Conn, seg filter.Segment, now time.Time) ([]int, string, []any, error) {
	clause, args, err := sqlgen.Where(seg, "doc", sqlgen.WithNow(now))
	if err != nil {
		return nil, clause, args, err
	}
	rows, err := db.Query(ctx, "SELECT id FROM contacts WHERE "+clause+" ORDER BY id", args...)
	if err != nil {
		return nil, clause, args, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	return ids, clause, args, err
}

func memIDs(t testing.TB, seg filter.Segment, raws [][]byte, now time.Time) []int {
	prog, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var ids []int
	for i, raw := range raws {
		ok, err := prog.MatchJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			ids = append(ids, i)
		}
	}
	return ids
}

func diff(a, b []int) (onlyA, onlyB []int) {
	for _, x := range a {
		if !slices.Contains(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	return
}

func TestRandomCorpus(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	g := randgen.New(20260315)
	const nContacts, nSegments = 2000, 520
	raws := corpus(t, db, g, nContacts)

	var segs []filter.Segment
	data, err := os.ReadFile("../testdata/segments.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &segs); err != nil {
		t.Fatal(err)
	}
	fromFile := len(segs)
	for range nSegments {
		segs = append(segs, g.Segment())
	}
	checked, checkedFile, skippedExpr, nonEmpty, failures := 0, 0, 0, 0, 0
	for i, seg := range segs {
		if usesExpr(seg.Filters) {
			skippedExpr++
			continue
		}
		got, clause, args, err := selectIDs(ctx, db, seg, randgen.Now)
		if err != nil {
			sj, _ := json.Marshal(seg)
			t.Errorf("segment %d: %v\n%s\n%s", i, err, sj, clause)
			failures++
			continue
		}
		want := memIDs(t, seg, raws, randgen.Now)
		checked++
		if i < fromFile {
			checkedFile++
		}
		if len(want) > 0 && len(want) < nContacts {
			nonEmpty++
		}
		if !slices.Equal(got, want) {
			failures++
			onlySQL, onlyMem := diff(got, want)
			sj, _ := json.Marshal(seg)
			msg := fmt.Sprintf("segment %d (file=%v): SQL %d, memory %d\n%s\nclause: %s\nargs: %q", i, i < fromFile, len(got), len(want), sj, clause, args)
			for _, id := range append(onlySQL[:min(2, len(onlySQL))], onlyMem[:min(2, len(onlyMem))]...) {
				msg += fmt.Sprintf("\n  contact %d (sql=%v): %s", id, slices.Contains(got, id), raws[id])
			}
			t.Error(msg)
			if failures > 5 {
				t.Fatal("too many differences")
			}
		}
	}
	t.Logf("random corpus: %d contacts; %d segments compared contact for contact (%d of %d from testdata, the rest random), %d skipped (expr), %d with a non-trivial audience",
		nContacts, checked, checkedFile, fromFile, skippedExpr, nonEmpty)
	if checked < 500 {
		t.Fatalf("only %d segments checked", checked)
	}
}

func TestNotPushable(t *testing.T) {
	seg := filter.Segment{Filters: []filter.Filter{filter.Cond("", "expr", "email != nil")}}
	if _, _, err := sqlgen.Where(seg, "doc"); !errors.Is(err, sqlgen.ErrNotPushable) {
		t.Fatalf("expr: %v", err)
	}
	// A repetition above PostgreSQL's 255 is beyond the regex bound
	// (operators.MaxRegexRepeat) now; a translation too large for its
	// regex compiler is still a valid pattern that cannot be pushed.
	seg = filter.Segment{Filters: []filter.Filter{filter.Cond("a", "regex", strings.Repeat(`\pL`, 40))}}
	if _, _, err := sqlgen.Where(seg, "doc"); !errors.Is(err, sqlgen.ErrNotPushable) {
		t.Fatalf(`\pL x 40: %v`, err)
	}
	seg = filter.Segment{Filters: []filter.Filter{filter.Cond("a", "nope", 1)}}
	if _, _, err := sqlgen.Where(seg, "doc"); err == nil || errors.Is(err, sqlgen.ErrNotPushable) {
		t.Fatalf("unknown operator: %v", err)
	}
}

func TestParamsOnly(t *testing.T) {
	evil := `x'); DROP TABLE contacts; --$1\`
	seg := filter.Segment{Filters: []filter.Filter{
		filter.Cond(evil+".k", "=", evil),
		filter.Cond("a", "in", []any{evil, 1.5}),
		filter.Cond("b", "regex", regexp.QuoteMeta(evil)),
	}}
	clause, _, err := sqlgen.Where(seg, `we"ird`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(clause, "DROP") || strings.Contains(clause, "x'") {
		t.Fatalf("a value reached the SQL text: %s", clause)
	}
	if !strings.Contains(clause, `"we""ird"`) {
		t.Fatalf("column not quoted: %s", clause)
	}
}
