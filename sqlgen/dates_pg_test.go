package sqlgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmatch/segmatch/filter"
)

// TestDateWindows: date conditions skip parsing a string whose day is
// more than two days from their bounds (and an epoch-ms number more than
// a day away); around the bounds, in every form and zone (±23:59
// included) and as epoch milliseconds, they agree with the engine, and so
// at the ends of the years a date string can write.
func TestDateWindows(t *testing.T) {
	db := testDB(t)
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
	raws := loadContacts(t, db, contacts)
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
	nonTrivial := agree(t, db, segs, raws, now)
	t.Logf("%d date segments x %d contacts agree (%d with a non-trivial audience)", len(segs), len(raws), nonTrivial)
	if nonTrivial < len(segs)*3/4 {
		t.Fatalf("only %d of %d segments tell contacts apart", nonTrivial, len(segs))
	}
}

// loadContacts stores the contacts (ids from 0) in a new table contacts
// and returns them as JSON.
func loadContacts(t *testing.T, db *pgx.Conn, contacts []map[string]any) [][]byte {
	t.Helper()
	ctx := context.Background()
	raws := make([][]byte, len(contacts))
	rows := make([][]any, len(contacts))
	for i, c := range contacts {
		raws[i], _ = json.Marshal(c)
		rows[i] = []any{i, string(raws[i])}
	}
	if _, err := db.Exec(ctx, "CREATE TABLE contacts (id int PRIMARY KEY, doc jsonb NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"id", "doc"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	return raws
}

// agree checks that each segment selects in SQL the contacts it matches
// in memory, and returns how many segments tell contacts apart.
func agree(t *testing.T, db *pgx.Conn, segs []filter.Segment, raws [][]byte, now time.Time) int {
	t.Helper()
	ctx := context.Background()
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
	return nonTrivial
}

// TestDateDayLists: a window of a few hundred days looks the day up in
// the list of its days (sqlgen's dayList), a longer one compares it as
// text; on either side of that switch, across a leap day and a year's
// end, with the days at and beyond the window's edges (in extreme zones)
// and strings that are no date although their day is in the window
// (impossible days, bad times, zones and fractions, non-ASCII digits),
// SQL agrees with the engine.
func TestDateDayLists(t *testing.T) {
	db := testDB(t)
	now := time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)
	from := time.Date(2024, 2, 27, 13, 0, 0, 0, time.UTC)
	// The list covers the window's days and two more on each side: up
	// to 400 days, so windows of 395 days and less use it.
	spans := []int{0, 1, 2, 394, 395, 396, 397}
	var contacts []map[string]any
	addDay := func(d time.Time) {
		day := d.Format("2006-01-02")
		for _, s := range []string{
			day, day + "T00:00:00Z", day + "T23:59:59.999999999-23:59", day + "T00:00:00+23:59", day + " 12:00:00",
			day + "t13:00:00.000z", day + " 12:59:59.5+0100", day + " 13:00:00-00", day + "T13:00:00",
			// not dates
			day + "x", day + "T24:00:00Z", day + "T12:00:00+24:00", day + "T12:00:00.Z", day + "t13:00:00.5",
			day + " 12:00:00 +05", day + "T12:00", day + "T13:00:00+01", day + "T13:00:00+0100", day + " 13:00:00+01:0",
			day + " 13:00:00+1:00", day + "T13:00:00+01:00Z", day + "T13:00:00Ｚ", day + "T13:00:00ü", day + "T13:00:60Z",
			"２" + day[1:], day[:9] + "x", day[:8] + "3" + day[9:],
		} {
			contacts = append(contacts, map[string]any{"d": s})
		}
		contacts = append(contacts, map[string]any{"d": float64(d.Add(13*time.Hour).UnixMilli()) - 1}, map[string]any{"d": []any{day + "T13:00:00Z"}})
	}
	ends := []time.Time{from}
	for _, n := range spans {
		ends = append(ends, from.AddDate(0, 0, n))
	}
	for _, e := range ends {
		for k := -4; k <= 4; k++ {
			addDay(e.AddDate(0, 0, k))
		}
	}
	for _, s := range []string{"2024-02-30", "2024-02-29", "2025-02-29T00:00:00Z", "2024-02-31 00:00:00", "2024-13-01", "2024-00-10", "2024-02-00"} {
		contacts = append(contacts, map[string]any{"d": s})
	}
	raws := loadContacts(t, db, contacts)
	var segs []filter.Segment
	for _, n := range spans {
		to := from.AddDate(0, 0, n)
		segs = append(segs,
			filter.Segment{Filters: []filter.Filter{filter.Cond("d", "date_between", []any{from.Format(time.RFC3339), to.Format(time.RFC3339)})}},
			filter.Segment{Filters: []filter.Filter{filter.Cond("d", "date_between", []any{float64(from.UnixMilli()), float64(to.UnixMilli())})}},
		)
	}
	for _, d := range []string{"1d", "2d", "390d", "400d"} {
		segs = append(segs, filter.Segment{Filters: []filter.Filter{filter.Cond("d", "within_last", d)}},
			filter.Segment{Filters: []filter.Filter{filter.Cond("d", "within_next", d)}})
	}
	nonTrivial := agree(t, db, segs, raws, now)
	t.Logf("%d date segments x %d contacts agree (%d with a non-trivial audience)", len(segs), len(raws), nonTrivial)
	if nonTrivial < len(segs)*3/4 {
		t.Fatalf("only %d of %d segments tell contacts apart", nonTrivial, len(segs))
	}
}
