package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
)

func TestRecordCodec(t *testing.T) {
	rec, err := NewRecord("p", "u", "0123456789abcdef01234567", filter.Segment{
		Name: "x", Filters: []filter.Filter{{Field: "a", Operator: "in", Value: json.RawMessage(`[1,"b"]`)}},
	}, time.Date(2024, 5, 6, 7, 8, 9, 10_000_000, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ = rec.Delete(rec.Segment.CreatedAt.Add(time.Second))
	b, err := EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rec)
	}

	// An empty filters list is written, and read back non-nil.
	empty, err := Validate(filter.Segment{Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Filters == nil || empty.Status != 0 {
		t.Fatalf("Validate: %+v", empty)
	}
	b, err = EncodeRecord(Record{Segment: empty, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeRecord(b); err != nil || got.Segment.Filters == nil || got.Version != 1 {
		t.Fatalf("empty filters: %+v %v", got, err)
	}
	// A record not written by EncodeRecord, without a filters list.
	if got, err := DecodeRecord([]byte(`{"version":2,"segment":{"name":"n"}}`)); err != nil || got.Segment.Filters == nil || got.Version != 2 {
		t.Fatalf("no filters: %+v %v", got, err)
	}
	if _, err := DecodeRecord([]byte(`{"version":`)); err == nil {
		t.Fatal("a truncated record decoded")
	}
}
