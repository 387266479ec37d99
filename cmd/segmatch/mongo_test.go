package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/segmatch/segmatch/mongogen"
)

// TestMongoCmd: segmatch mongo prints one JSON line a segment, its
// filter in relaxed extended JSON, and whether it is exact.
func TestMongoCmd(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"mongo", "--segments", "testdata/segments.json", "--now", sampleNow}, nil, &out, &errs)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("want a line a segment:\n%s", out.String())
	}
	for _, l := range lines {
		var x struct {
			Segment string
			Exact   *bool
			Filter  json.RawMessage
		}
		if err := json.Unmarshal([]byte(l), &x); err != nil || x.Segment == "" || x.Exact == nil || len(x.Filter) == 0 {
			t.Errorf("bad line %q: %v", l, err)
			continue
		}
		var d bson.D
		if err := bson.UnmarshalExtJSON(x.Filter, false, &d); err != nil {
			t.Errorf("%s: the filter is not extended JSON: %v", x.Segment, err)
		}
	}
	if !strings.Contains(out.String(), `"segment":"65f1c0ffee0000000000c001"`) || !strings.Contains(out.String(), `{"country":"IT"}`) {
		t.Errorf("segment c001's filter is missing:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `"$date":`) {
		t.Errorf("in the last 7d pushes no BSON date range:\n%s", out.String())
	}

	for _, args := range [][]string{{"mongo"}, {"mongo", "--segments", "testdata/segments.json", "extra"}, {"mongo", "--segments", "testdata/segments.json", "--now", "yesterday"}} {
		errs.Reset()
		if code := run(args, nil, &out, &errs); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	errs.Reset()
	if code := run([]string{"mongo", "--segments", "testdata/bad_segments.jsonl"}, nil, &out, &errs); code != exitFailure || !strings.Contains(errs.String(), "validate") {
		t.Errorf("bad segments: exit %d: %s", code, errs.String())
	}
}

// TestClassifyMongoAgrees: classify --mongo answers as classify does on
// the documents as stored, line by line, ids included. It needs
// SEGMATCH_MONGO_URI (source .ci/mongo).
func TestClassifyMongoAgrees(t *testing.T) {
	uri := os.Getenv("SEGMATCH_MONGO_URI")
	if uri == "" {
		t.Skip("SEGMATCH_MONGO_URI is unset: run `source .ci/mongo` first for the MongoDB tests")
	}
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	dbName := fmt.Sprintf("classify_mongo_test_%d_%d", os.Getpid(), rand.Int64N(1<<40))
	db := client.Database(dbName)
	defer func() { _ = db.Drop(context.Background()); _ = client.Disconnect(context.Background()) }()
	coll := db.Collection("leads")
	data, err := os.ReadFile("testdata/contacts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := append(strings.Split(string(data), "\n"),
		`{"lead_id": null, "_id": 7, "country": "IT", "tags": ["vip"]}`,
		`{"lead_id": {"x": 1}, "_id": {"k": 1}, "id": "last-choice", "country": "DE"}`,
		`{"lead_id": true, "country": "IT", "createdAt": {"date": "an object"}}`)
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		d, err := mongogen.DocumentOf([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	// A lead as Tiledesk stores it: an ObjectId, a BSON date.
	oid, _ := bson.ObjectIDFromHex("65f1c0ffee00000000000099")
	created, _ := time.Parse(time.RFC3339, "2026-11-27T10:00:00Z")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: oid}, {Key: "country", Value: "IT"},
		{Key: "tags", Value: bson.A{"trial"}}, {Key: "createdAt", Value: bson.NewDateTimeFromTime(created)}}); err != nil {
		t.Fatal(err)
	}
	// The file classify reads: the documents as stored, in natural order.
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var contacts strings.Builder
	for cur.Next(ctx) {
		js, err := mongogen.ContactJSON(cur.Current)
		if err != nil {
			t.Fatal(err)
		}
		contacts.Write(js)
		contacts.WriteByte('\n')
	}

	var want, got, stderr bytes.Buffer
	seg := []string{"--segments", "testdata/segments.json", "--now", sampleNow}
	if code := run(append([]string{"classify"}, seg...), strings.NewReader(contacts.String()), &want, &stderr); code != exitOK {
		t.Fatalf("classify: exit %d\n%s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(append([]string{"classify", "--mongo", uri, "--db", dbName, "--collection", "leads"}, seg...), nil, &got, &stderr); code != exitOK {
		t.Fatalf("classify --mongo: exit %d\n%s", code, stderr.String())
	}
	wantLines, gotLines := strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")
	if len(wantLines) != len(gotLines) {
		t.Fatalf("classify wrote %d lines, classify --mongo %d\n%s\n%s", len(wantLines), len(gotLines), want.String(), got.String())
	}
	for i := range wantLines {
		if norm(wantLines[i]) != norm(gotLines[i]) {
			t.Errorf("line %d:\nclassify         %s\nclassify --mongo %s", i+1, wantLines[i], gotLines[i])
		}
	}
	for _, s := range []string{`"id":7`, `"id":"last-choice"`, `"id":"65f1c0ffee00000000000099"`} {
		if !strings.Contains(got.String(), s) {
			t.Errorf("no %s in:\n%s", s, got.String())
		}
	}
	// Every format is classify's, byte for byte.
	for _, format := range []string{formatCSV, formatCounts} {
		var want, got, stderr bytes.Buffer
		f := append([]string{"--format", format}, seg...)
		if code := run(append([]string{"classify"}, f...), strings.NewReader(contacts.String()), &want, &stderr); code != exitOK {
			t.Fatalf("classify --format %s: exit %d\n%s", format, code, stderr.String())
		}
		if code := run(append([]string{"classify", "--mongo", uri, "--db", dbName, "--collection", "leads"}, f...), nil, &got, &stderr); code != exitOK {
			t.Fatalf("classify --mongo --format %s: exit %d\n%s", format, code, stderr.String())
		}
		if got.String() != want.String() {
			t.Errorf("--format %s:\nclassify:\n%s\nclassify --mongo:\n%s", format, want.String(), got.String())
		}
	}
	if code := run(append([]string{"classify", "--mongo", uri, "--db", dbName, "--collection", "leads", "--format", "xml"}, seg...), nil, &bytes.Buffer{}, &bytes.Buffer{}); code != exitUsage {
		t.Errorf("--format xml: exit %d; want %d", code, exitUsage)
	}

	// The Tiledesk-shaped lead (a BSON date within the last 7 days) is
	// a recent signup.
	if !strings.Contains(got.String(), `"id":"65f1c0ffee00000000000099","segments":[`) || strings.Contains(got.String(), `"id":"65f1c0ffee00000000000099","segments":[]`) {
		t.Errorf("the lead with a BSON date is in no segment:\n%s", got.String())
	}

	// Usage and connection errors.
	for _, args := range [][]string{{"classify", "--mongo", uri}, {"classify", "--mongo", uri, "--db", dbName, "--collection", "leads"}} {
		stderr.Reset()
		if code := run(args, nil, &got, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	stderr.Reset()
	if code := run(append([]string{"classify", "--mongo", "nonsense://x", "--db", "d", "--collection", "c"}, seg...), nil, &got, &stderr); code != exitFailure {
		t.Errorf("bad URI: exit %d\n%s", code, stderr.String())
	}
}
