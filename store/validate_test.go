package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

func TestValidate(t *testing.T) {
	seg, err := Validate(filter.Segment{
		Name: "x", ID: "ignored", Status: 100,
		Filters: []filter.Filter{{Field: "a", Operator: "in", Value: json.RawMessage(`[ 1, "b" ]`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if seg.Match != filter.All || seg.ID != "" || seg.Status != 0 || string(seg.Filters[0].Value) != `[1,"b"]` {
		t.Fatalf("not canonical: %+v %s", seg, seg.Filters[0].Value)
	}

	_, err = Validate(filter.Segment{Name: "bad\xff", Filters: []filter.Filter{
		{Field: "f\xff", Operator: "="},
		filter.Group(filter.Any, filter.Filter{Field: "g", Operator: "op\xfe"}),
	}})
	var paths []string
	for _, p := range Problems(err) {
		paths = append(paths, p.Path)
	}
	if !errors.Is(err, ErrInvalid) || len(paths) != 3 || paths[0] != "/name" || paths[1] != "/filters/0/field" || paths[2] != "/filters/1/filters/0/operator" {
		t.Fatalf("invalid UTF-8: %v (problems at %v)", err, paths)
	}

	// A value that does not survive the wire format is refused too.
	_, err = Validate(filter.Segment{Name: "x", Filters: []filter.Filter{
		{Field: "a", Operator: "eq", Value: json.RawMessage(`{"k":1,"k":2}`)},
	}})
	var ce *segmatch.CompileError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &ce) || ce.Path != "/filters/0/value/k" {
		t.Fatalf("duplicate key in a value: %v", err)
	}
	if Problems(nil) != nil || Problems(errors.New("x")) != nil {
		t.Fatal("Problems of a non-compile error")
	}
}

func TestRecordTimestamps(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	r, err := NewRecord("p", "u", "65f1c0ffee0000000000a001", filter.Segment{Name: "x"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.Segment.CreatedAt.Nanosecond() != 123000000 || r.Segment.CreatedAt.Location() != time.UTC {
		t.Fatalf("record %+v", r)
	}
	// A clock that stands still or steps back still moves UpdatedAt on.
	prev := r
	for i, at := range []time.Time{now, now.Add(-time.Hour), now.Add(time.Hour)} {
		next, changed, err := prev.Apply(SegmentUpdate{Name: new(string("y")), IfUpdatedAt: prev.Segment.UpdatedAt}, at)
		if err != nil || !changed || !next.Segment.UpdatedAt.After(prev.Segment.UpdatedAt) || next.Version != prev.Version+1 {
			t.Fatalf("%d: %+v %v %v", i, next, changed, err)
		}
		prev = next
	}
	del, changed := prev.Delete(now)
	if !changed || del.Active() || !del.Segment.UpdatedAt.After(prev.Segment.UpdatedAt) || del.Version != prev.Version+1 {
		t.Fatalf("delete: %+v", del)
	}
	if again, changed := del.Delete(now); changed || !reflect.DeepEqual(again, del) {
		t.Fatal("second delete changed the record")
	}
	if _, _, err := del.Apply(SegmentUpdate{Name: new(string("z"))}, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of deleted: %v", err)
	}
}
