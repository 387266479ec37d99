package store

import (
	"errors"
	"testing"
	"time"

	"github.com/segmatch/segmatch/filter"
)

func TestLimitsCheck(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rec, err := NewRecord("p", "u", "0123456789abcdef01234567", filter.Segment{Name: "x",
		Filters: []filter.Filter{filter.Cond("a", "=", "b")}}, at)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Size <= 0 {
		t.Fatalf("size %d", rec.Size)
	}
	if got := (Limits{}).Resolved(); got != DefaultLimits {
		t.Fatalf("zero limits resolve to %+v", got)
	}
	full := Usage{Segments: 2, Bytes: 2 * rec.Size}
	l := Limits{MaxSegments: 2, MaxBytes: -1}
	var le *LimitError
	if err := l.Check("p", full, nil, rec); !errors.As(err, &le) || le.Limit != "segments" || !errors.Is(err, ErrLimit) || errors.Is(err, ErrInvalid) {
		t.Fatalf("create in a full project: %v", err)
	}
	if err := (Limits{MaxSegments: -1, MaxBytes: -1}).Check("p", Usage{Segments: 1 << 30, Bytes: 1 << 60}, nil, rec); err != nil {
		t.Fatalf("no limits: %v", err)
	}
	// An update of the same size, a delete: nothing added.
	if err := l.Check("p", full, &rec, rec); err != nil {
		t.Fatalf("same-size update: %v", err)
	}
	del, _ := rec.Delete(at.Add(time.Second))
	if err := (Limits{MaxSegments: 1, MaxBytes: 1}).Check("p", full, &rec, del); err != nil {
		t.Fatalf("delete beyond the limits: %v", err)
	}
	if u := full.Change(&rec, del); u.Segments != 1 || u.Bytes != rec.Size {
		t.Fatalf("usage after a delete: %+v", u)
	}
	// Bytes: growing beyond MaxBytes.
	grown := rec
	grown.Size = rec.Size + 1
	if err := (Limits{MaxSegments: -1, MaxBytes: full.Bytes}).Check("p", full, &rec, grown); !errors.As(err, &le) || le.Limit != "bytes" || le.Need != 1 {
		t.Fatalf("growing update: %v", err)
	}
}

// A record stored without its size reads as unknown, and is sized by
// compiling it.
func TestRecordSizeUnknown(t *testing.T) {
	rec, err := NewRecord("p", "u", "0123456789abcdef01234567", filter.Segment{Name: "x",
		Filters: []filter.Filter{filter.Cond("a", "in", []any{1, 2, 3})}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeRecord(Record{Segment: rec.Segment, Version: 1, Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != -1 {
		t.Fatalf("size %d, want -1 (unknown)", got.Size)
	}
	if n := got.CompiledSize(); n != rec.Size || got.Size != rec.Size {
		t.Fatalf("CompiledSize %d (kept %d), want %d", n, got.Size, rec.Size)
	}
}
