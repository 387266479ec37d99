package store

import (
	"encoding/json"
	"fmt"

	"github.com/segmatch/segmatch/filter"
)

// diskRecord is the stored JSON form of a Record.
type diskRecord struct {
	Version uint64         `json:"version"`
	Segment filter.Segment `json:"segment"`
	// Size is Record.Size; absent when unknown (and in records written
	// before sizes were kept).
	Size *int64 `json:"size,omitempty"`
}

// EncodeRecord returns the JSON form in which implementations persist a
// record: {"version": N, "segment": {...the segment's wire format...},
// "size": compiled bytes}.
// Keeping one codec here means every implementation stores, and so reads
// back, exactly the same bytes for the same record.
func EncodeRecord(r Record) ([]byte, error) {
	d := diskRecord{Version: r.Version, Segment: r.Segment}
	if r.Size >= 0 {
		d.Size = &r.Size
	}
	return json.Marshal(d)
}

// DecodeRecord reads a record written by EncodeRecord; one without a size
// reads with Size -1 (unknown). A malformed record
// is an error ("corrupt segment record"); callers add which segment it was.
func DecodeRecord(b []byte) (Record, error) {
	var d diskRecord
	if err := json.Unmarshal(b, &d); err != nil {
		return Record{}, fmt.Errorf("corrupt segment record: %w", err)
	}
	// EncodeRecord always writes a filters list, which decodes non-nil; a
	// record written by other means (edited by hand, another tool) may
	// lack it, and callers rely on Filters never being nil.
	if d.Segment.Filters == nil {
		d.Segment.Filters = []filter.Filter{}
	}
	size := int64(-1) // unknown: see Record.CompiledSize
	if d.Size != nil && *d.Size >= 0 {
		size = *d.Size
	}
	return Record{Segment: d.Segment, Version: d.Version, Size: size}, nil
}
