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
}

// EncodeRecord returns the JSON form in which implementations persist a
// record: {"version": N, "segment": {...the segment's wire format...}}.
// Keeping one codec here means every implementation stores, and so reads
// back, exactly the same bytes for the same record.
func EncodeRecord(r Record) ([]byte, error) {
	return json.Marshal(diskRecord{Version: r.Version, Segment: r.Segment})
}

// DecodeRecord reads a record written by EncodeRecord. A malformed record
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
	return Record{Segment: d.Segment, Version: d.Version}, nil
}
