// Package filter is the segment model: segments, filters and groups, their
// JSON wire format (Tiledesk's segment document plus nested groups and the
// negate / ignore_case flags), and the shape checks that decoding performs.
//
// Decoding is strict wherever a mistake could silently change an audience:
// unknown or duplicate keys, in a filter and at the segment's top level
// alike (a closed set, SegmentKeys, which includes what Tiledesk exports
// carry), and wrong types. Every problem is an *Error carrying the JSON
// Pointer of its location; an unknown key says which known one it is
// probably a typo of.
package filter

import (
	"encoding/json"
	"time"
)

// Match says how a segment or group combines its filters.
type Match string

const (
	All Match = "all" // every filter must hold (the default)
	Any Match = "any" // at least one filter must hold
)

// Status values of a stored segment, as in Tiledesk.
const (
	StatusDeleted = 0
	StatusActive  = 100
)

// MaxDepth is how deeply groups may nest (a segment's own filter list is
// depth 1).
const MaxDepth = 32

// Segment is a named audience: filters combined with Match.
// The zero Match means All.
type Segment struct {
	ID        string    // written as both "_id" and "id"; either is read
	Name      string    // "name"
	Match     Match     // "match"
	Filters   []Filter  // "filters"
	IDProject string    // "id_project"
	CreatedBy string    // "createdBy"
	CreatedAt time.Time // "createdAt", RFC 3339 with milliseconds
	UpdatedAt time.Time // "updatedAt"
	Status    int       // "status": StatusActive or StatusDeleted
}

// Key is how a segment is known in results: its ID, or its name when it
// has no ID.
func (s *Segment) Key() string {
	if s.ID != "" {
		return s.ID
	}
	return s.Name
}

// Filter is either a condition (Operator is set) or a group (Operator is
// empty; Match and Filters apply). Negate applies to both.
type Filter struct {
	// Condition.
	Field      string          // dot path; "" is the whole contact
	Operator   string          // as written: canonical name or alias
	Value      json.RawMessage // the value as JSON; nil when absent
	IgnoreCase bool

	// Group.
	Match   Match
	Filters []Filter

	Negate bool
}

// IsGroup reports whether f is a nested group rather than a condition.
func (f *Filter) IsGroup() bool { return f.Operator == "" }

// Cond builds a condition; value is encoded with encoding/json (nil is
// JSON null; use CondNoValue for operators that take none).
func Cond(field, operator string, value any) Filter {
	return Filter{Field: field, Operator: operator, Value: ValueOf(value)}
}

// CondNoValue builds a condition without a value (is_set, is_empty, ...).
func CondNoValue(field, operator string) Filter {
	return Filter{Field: field, Operator: operator}
}

// Group builds a nested group.
func Group(match Match, filters ...Filter) Filter {
	return Filter{Match: match, Filters: filters}
}

// ValueOf encodes v as a filter value. It panics only on values that
// encoding/json cannot encode (channels, functions), a programming error.
func ValueOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("filter.ValueOf: " + err.Error())
	}
	return b
}
