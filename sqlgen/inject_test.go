package sqlgen_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/sqlgen"
)

// Field names and values full of SQL metacharacters select exactly what
// the in-memory engine selects and never leave their parameter. U+0000
// cannot be stored in PostgreSQL text or jsonb, so contacts never hold it;
// constants holding it are resolved in Go (a key with it is always
// missing, a string with it equals or prefixes no stored string, and
// order against it is order against its NUL-free prefix).
func TestInjection(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	nasty := []string{
		`'`, `''`, `"`, `\`, `\\'`, `$1`, `$$`, `$fn$`, `--`, `;`, `'; DROP TABLE contacts; --`,
		`a'b"c\d$e--f;g`, `ſK`, `é`, "\u2028", `{}`, `[1]`, `%_`, `*`, "tab\there", "new\nline",
	}
	withNUL := []string{"x\x00y", "\x00", "a\x00"}
	var contacts []string
	for _, k := range nasty {
		for _, v := range nasty {
			c, _ := json.Marshal(map[string]any{k: v, "tags": []any{v, k}, "n": map[string]any{k: []any{v}}})
			contacts = append(contacts, string(c))
		}
	}
	contacts = append(contacts, `{"x":"x"}`, `{"x":"a"}`, `{"x":"b"}`)
	var segs []filter.Segment
	for _, s := range append(nasty, withNUL...) {
		for _, op := range []string{"=", "!=", "contains", "starts_with", "ends_with", "<", ">=", "in", "contains_all"} {
			val := any(s)
			if op == "in" || op == "contains_all" {
				val = []any{s, "x"}
			}
			segs = append(segs,
				filter.Segment{Filters: []filter.Filter{filter.Cond(keyPath(s), op, val)}},
				filter.Segment{Filters: []filter.Filter{{Field: "tags", Operator: op, Value: filter.ValueOf(val), IgnoreCase: true}}},
				filter.Segment{Filters: []filter.Filter{filter.Cond("x", op, val)}},
			)
		}
		segs = append(segs, filter.Segment{Filters: []filter.Filter{filter.CondNoValue(keyPath(s), "is_set")}})
		segs = append(segs, filter.Segment{Filters: []filter.Filter{filter.Cond("n."+keyPath(s), "=", s)}})
		segs = append(segs, filter.Segment{Filters: []filter.Filter{filter.Cond("tags", "regex", regexp.QuoteMeta(s))}})
	}
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	raws := make([][]byte, len(contacts))
	for i, c := range contacts {
		raws[i] = []byte(c)
		if _, err := db.Exec(ctx, "INSERT INTO contacts VALUES ($1, $2::text::jsonb)", i, c); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, seg := range segs {
		got, clause, args, err := selectIDs(ctx, db, seg, cases.Now)
		if errors.Is(err, sqlgen.ErrNotPushable) {
			continue
		}
		if err != nil {
			sj, _ := json.Marshal(seg)
			t.Fatalf("%s: %v\n%s", sj, err, clause)
		}
		want := memIDs(t, seg, raws, cases.Now)
		if !slices.Equal(got, want) {
			sj, _ := json.Marshal(seg)
			t.Errorf("%s: SQL %v, memory %v\n%s\n%q", sj, got, want, clause, args)
		}
		checked++
	}
	t.Logf("injection: %d segments x %d contacts agree", checked, len(contacts))
	_ = segmatch.Compile
}

// keyPath writes one key as a field path (escaping dots, backslashes and
// a lone "#").
func keyPath(k string) string { return filter.Path{{Key: k, Index: -1}}.String() }
