package store

import (
	"encoding/json"

	"github.com/segmatch/segmatch/filter"
)

// CloneSegment returns a deep copy of seg (its filters and their values
// are not shared), keeping nil and empty slices apart.
func CloneSegment(seg filter.Segment) filter.Segment {
	seg.Filters = cloneFilters(seg.Filters)
	return seg
}

func cloneFilters(fs []filter.Filter) []filter.Filter {
	if fs == nil {
		return nil
	}
	out := make([]filter.Filter, len(fs))
	for i, f := range fs {
		if f.Value != nil {
			f.Value = append(json.RawMessage{}, f.Value...)
		}
		f.Filters = cloneFilters(f.Filters)
		out[i] = f
	}
	return out
}
