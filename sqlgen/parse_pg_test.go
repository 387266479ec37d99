package sqlgen_test

import (
	"context"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/segmatch/segmatch/operators"
	"github.com/segmatch/segmatch/sqlgen"
)

// mutants returns the seeds and random edits of them (a character
// replaced, inserted or deleted, from an alphabet of the characters the
// grammars care about): ASCII only, as PostgreSQL text holds no NUL.
func mutants(seeds []string, alphabet string, n int) []string {
	r := rand.New(rand.NewPCG(13, 4))
	out := append([]string(nil), seeds...)
	for range n {
		s := []byte(seeds[r.IntN(len(seeds))])
		for range 1 + r.IntN(3) {
			c := alphabet[r.IntN(len(alphabet))]
			i := r.IntN(len(s) + 1)
			switch r.IntN(3) {
			case 0:
				if i < len(s) {
					s[i] = c
				}
			case 1:
				s = append(s[:i], append([]byte{c}, s[i:]...)...)
			case 2:
				if i < len(s) {
					s = append(s[:i], s[i+1:]...)
				}
			}
		}
		out = append(out, string(s))
	}
	return out
}

// TestDateTextAgrees: segmatch_date_text reads every string as
// operators.ParseDate does (the same instant, or NULL where ParseDate
// refuses), on the accepted forms and on random edits of them.
func TestDateTextAgrees(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	seeds := []string{
		"2026-11-28", "2026-11-28T10:00:00", "2026-11-28T10:00:00Z", "2026-11-28t10:00:00.000z",
		"2026-11-28T10:00:00.123456789+02:00", "2026-11-28T10:00:00.1234567891-05:30", "2024-02-29T23:59:59-23:59",
		"2022-04-30 22:00:00", "2022-04-30 22:00:00.5", "2022-04-30 22:00:00.123456+00", "2022-04-30 22:00:00+0000",
		"2022-04-30 22:00:00+00:00", "2022-04-30 22:00:00Z", "2022-04-30 22:00:00z", "2022-04-30 22:00:00-05",
		"2022-04-30 22:00:00.5-0530", "2022-04-30 22:00:00+23:59", "0000-01-01 00:00:00-2359", "9999-12-31 23:59:59.999999999+14",
		"2022-04-30 22:00", "2022-04-30T22:00:00+0000", "2022-04-30T22:00:00+00", "2022-04-30T22:00:00.5",
		"2022-04-30 22:00:00+24", "2022-04-30 22:00:00+0060", "2022-04-30 22:00:00 +00",
	}
	strs := mutants(seeds, "0123456789-:. TtZz+5", 20000)
	// Not mutated (a byte edit could break their UTF-8): non-ASCII
	// characters where digits, separators and zones go, and tails that
	// put a sign or a colon where a zone of another length has one.
	strs = append(strs, "２026-11-28", "2026-11-2８", "2026-11-28T10:00:00Ｚ", "2026-11-28T10:00:00+0２:00", "2026-11-28 10:00:00é",
		"2026-11-28T10:00:00.5ü+01:00", "2026－11-28", "2026-11-28 10:00:00.+01", "2026-11-28 10:00:00+01:", "2026-11-28 10:00:00+-01:00",
		"2026-11-28 10:00:00+01:0", "2026-11-28 10:00:00+01-00", "2026-11-28 10:00:00:01:00", "2026-11-28 10:00:00.1+0100Z",
		"2026-11-28 10:00:00.123-", "2026-11-28 10:00:00-", "2026-11-28 10:00:00+", "2026-11-28 10:00+01:00", "2026-11-28 10:00:00+1",
		"2026-11-28 10:00:00.1234567890123456789012345-01", "2026-11-28T10:00:00.000000000000000000001Z", "2024-02-29", "2023-02-29",
		"2000-02-29 00:00:00", "1900-02-29 00:00:00", "0000-02-29", "0000-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999999+23:59")
	rows, err := db.Query(ctx, "SELECT s, segmatch_date_text(s)::text FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i) ORDER BY i", strs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, accepted := 0, 0
	for rows.Next() {
		var s string
		var got *string
		if err := rows.Scan(&s, &got); err != nil {
			t.Fatal(err)
		}
		n++
		d, ok := operators.ParseDate(s)
		switch {
		case !ok && got != nil:
			t.Errorf("segmatch_date_text(%q) = %s; ParseDate refuses it", s, *got)
		case ok && got == nil:
			t.Errorf("segmatch_date_text(%q) = NULL; ParseDate = %v", s, d)
		case ok:
			accepted++
			want := new(big.Rat).SetFrac(new(big.Int).Add(new(big.Int).Mul(big.NewInt(d.Unix()), big.NewInt(1e9)), big.NewInt(int64(d.Nanosecond()))), big.NewInt(1e9))
			g, okg := new(big.Rat).SetString(*got)
			if !okg || g.Cmp(want) != 0 {
				t.Errorf("segmatch_date_text(%q) = %s; ParseDate = %v (%s)", s, *got, d, want.FloatString(9))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(strs) {
		t.Fatalf("%d rows for %d strings", n, len(strs))
	}
	t.Logf("%d strings, %d dates", n, accepted)
}

// TestSemverKeyAgrees: segmatch_semver_key is sqlgen.SemverKey, which
// accepts what operators.ParseSemver accepts and orders as it does.
func TestSemverKeyAgrees(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	seeds := []string{
		"1.2.3", "2.0.0-rc.1+build.5", "2", "2.0", "1.0.0-alpha.1", "1.0.0-beta.11", "2-rc", "2.0-rc.1", "2-rc.1+b",
		"2+b", "2.0+b.1", "v2-rc", "02-rc", "2-", "2.0-rc..1", "2-01", "10.0-0", "1-a-b.c", "3-alpha+001",
	}
	strs := mutants(seeds, "0123456789.-+rcv0", 20000)
	rows, err := db.Query(ctx, "SELECT s, segmatch_semver_key(s) FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i) ORDER BY i", strs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type parsed struct {
		s   string
		key string
		v   operators.Semver
	}
	var ok []parsed
	for rows.Next() {
		var s string
		var got *string
		if err := rows.Scan(&s, &got); err != nil {
			t.Fatal(err)
		}
		key, okk := sqlgen.SemverKey(s)
		v, okv := operators.ParseSemver(s)
		switch {
		case okk != okv:
			t.Errorf("SemverKey(%q) ok = %v; ParseSemver ok = %v", s, okk, okv)
		case (got != nil) != okk || (got != nil && *got != key):
			t.Errorf("segmatch_semver_key(%q) = %v; SemverKey = %q, %v", s, got, key, okk)
		case okv:
			ok = append(ok, parsed{s, key, v})
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(4, 13))
	for range 20000 {
		a, b := ok[r.IntN(len(ok))], ok[r.IntN(len(ok))]
		want := a.v.Compare(b.v)
		got := 0
		switch {
		case a.key < b.key:
			got = -1
		case a.key > b.key:
			got = 1
		}
		if got != want {
			t.Errorf("keys of %q and %q order as %d; ParseSemver Compare = %d", a.s, b.s, got, want)
		}
	}
	t.Logf("%d strings, %d versions", len(strs), len(ok))
}
