package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestClassifyPGAgrees: classify --pg answers as classify does, line by
// line, ids included (the first of lead_id, _id and id that is a string
// or a number). It needs SEGMATCH_PG_DSN (source .ci/pg).
func TestClassifyPGAgrees(t *testing.T) {
	dsn := os.Getenv("SEGMATCH_PG_DSN")
	if dsn == "" {
		t.Skip("SEGMATCH_PG_DSN is unset: run `source .ci/pg` first for the PostgreSQL tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	table := fmt.Sprintf("classify_pg_test_%d_%d", os.Getpid(), rand.Int64N(1<<40))
	if _, err := conn.Exec(ctx, "CREATE TABLE "+table+" (n serial, doc jsonb)"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "DROP TABLE "+table)
	data, err := os.ReadFile("testdata/contacts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := append(strings.Split(string(data), "\n"),
		`{"lead_id": null, "_id": 7, "country": "IT", "tags": ["vip"]}`,
		`{"lead_id": {"x": 1}, "_id": [1], "id": "last-choice", "country": "DE"}`,
		`{"lead_id": true, "country": "IT"}`)
	var contacts strings.Builder // a row a line, so line numbers are row numbers
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		contacts.WriteString(l + "\n")
		if _, err := conn.Exec(ctx, "INSERT INTO "+table+" (doc) VALUES ($1)", l); err != nil {
			t.Fatal(err)
		}
	}

	var want, got, stderr bytes.Buffer
	seg := []string{"--segments", "testdata/segments.json", "--now", sampleNow}
	if code := run(append([]string{"classify"}, seg...), strings.NewReader(contacts.String()), &want, &stderr); code != exitOK {
		t.Fatalf("classify: exit %d\n%s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(append([]string{"classify", "--pg", dsn, "--table", table}, seg...), nil, &got, &stderr); code != exitOK {
		t.Fatalf("classify --pg: exit %d\n%s", code, stderr.String())
	}
	wantLines, gotLines := strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")
	if len(wantLines) != len(gotLines) {
		t.Fatalf("classify wrote %d lines, classify --pg %d\n%s\n%s", len(wantLines), len(gotLines), want.String(), got.String())
	}
	for i := range wantLines {
		if norm(wantLines[i]) != norm(gotLines[i]) {
			t.Errorf("line %d:\nclassify      %s\nclassify --pg %s", i+1, wantLines[i], gotLines[i])
		}
	}
	if !strings.Contains(got.String(), `"id":7`) || !strings.Contains(got.String(), `"id":"last-choice"`) {
		t.Errorf("ids not read past null, object and array values:\n%s", got.String())
	}
}

// norm drops the spaces encoding/json and the engine's writer may place
// differently.
func norm(s string) string { return strings.ReplaceAll(s, " ", "") }
