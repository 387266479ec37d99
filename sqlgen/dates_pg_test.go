package sqlgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// TestDateWindows: date conditions skip parsing a string whose day is
// more than two days from their bounds (and an epoch-ms number more than
// a day away); around the bounds, in every form and zone (±23:59
// included) and as epoch milliseconds, they agree with the engine, and so
// at the ends of the years a date string can write.
func TestDateWindows(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	anchors := []time.Time{now, now.AddDate(0, 0, -30), now.Add(-7 * time.Minute), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	zones := []*time.Location{time.UTC, time.FixedZone("", -(23*3600 + 59*60)), time.FixedZone("", 23*3600+59*60), time.FixedZone("", 5*3600+30*60)}
	var contacts []map[string]any
	for _, a := range anchors {
		for step := -50; step <= 50; step++ {
			at := a.Add(time.Duration(step) * 59 * time.Minute).Add(time.Duration(step) * time.Second)
			if at.Year() < 0 || at.Year() > 9999 {
				continue
			}
			for _, z := range zones {
				l := at.In(z)
				contacts = append(contacts,
					map[string]any{"d": l.Format(time.RFC3339Nano)},
					map[string]any{"d": l.Format("2006-01-02 15:04:05.999999999-07:00")},
					map[string]any{"d": l.Format("2006-01-02 15:04:05-0700")},
				)
			}
			contacts = append(contacts,
				map[string]any{"d": at.Format("2006-01-02")},
				map[string]any{"d": at.Format("2006-01-02T15:04:05")},
				map[string]any{"d": []any{"x", at.Format("2006-01-02 15:04:05")}},
				map[string]any{"d": float64(at.UnixMilli()) + 0.5},
			)
		}
	}
	raws := make([][]byte, len(contacts))
	for i, c := range contacts {
		raws[i], _ = json.Marshal(c)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, len(raws))
	for i, r := range raws {
		rows[i] = []any{i, string(r)}
	}
	for i := 0; i < len(rows); i += 500 {
		for _, r := range rows[i:min(i+500, len(rows))] {
			if _, err := db.Exec(ctx, "INSERT INTO contacts VALUES ($1, $2::text::jsonb)", r...); err != nil {
				t.Fatal(err)
			}
		}
	}
	var segs []filter.Segment
	for _, a := range anchors {
		s := a.Format(time.RFC3339Nano)
		fs := []filter.Filter{
			filter.Cond("d", "before", s),
			filter.Cond("d", "after", s),
			filter.Cond("d", "date_between", []any{float64(a.UnixMilli()), float64(a.Add(time.Hour).UnixMilli())}),
		}
		if later := a.Add(26 * time.Hour); later.Year() <= 9999 {
			fs = append(fs, filter.Cond("d", "date_between", []any{s, later.Format(time.RFC3339)}))
		}
		if earlier := a.Add(-26 * time.Hour); earlier.Year() >= 0 {
			fs = append(fs, filter.Cond("d", "date_between", []any{earlier.Format(time.RFC3339), s}))
		}
		for _, f := range fs {
			segs = append(segs, filter.Segment{Filters: []filter.Filter{f}})
		}
	}
	for _, d := range []string{"30d", "7m", "1h", "10000y"} {
		segs = append(segs, filter.Segment{Filters: []filter.Filter{filter.Cond("d", "within_last", d)}},
			filter.Segment{Filters: []filter.Filter{filter.Cond("d", "within_next", d)}})
	}
	nonTrivial := 0
	for _, seg := range segs {
		got, clause, args, err := selectIDs(ctx, db, seg, now)
		if err != nil {
			t.Fatalf("%v\n%s", err, clause)
		}
		want := memIDs(t, seg, raws, now)
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
	t.Logf("%d date segments x %d contacts agree (%d with a non-trivial audience)", len(segs), len(raws), nonTrivial)
	if nonTrivial < len(segs)*3/4 {
		t.Fatalf("only %d of %d segments tell contacts apart", nonTrivial, len(segs))
	}
}
