package segmatch

import "github.com/segmatch/segmatch/internal/plan"

// Explanation is a segment's whole evaluation for one contact
// (Program.Explain, Program.ExplainJSON): every group and every condition
// with its result. Its String is an indented tree for people (✓/✗ a
// line, the contact's value beside each condition); it marshals to JSON
// with a stable shape.
type Explanation = plan.Explanation

// The parts of an Explanation.
type (
	ExplainGroup     = plan.ExplainGroup     // a group: match, negate, result, its filters
	ExplainFilter    = plan.ExplainFilter    // one filter of a group: a condition or a group
	ExplainCondition = plan.ExplainCondition // a condition as written, what the contact holds, the result
	FieldReading     = plan.FieldReading     // what a field path reads: missing, null or the JSON
	ExplainElements  = plan.ExplainElements  // an elem_match's array against its group
	ExplainElement   = plan.ExplainElement   // the group's evaluation on one element
)

// Bounds on an explanation (a contact and a segment are untrusted on the
// HTTP API): a contact value is shown up to MaxExplainValueBytes of JSON
// (then a preview) and a filter's up to MaxExplainFilterValueBytes (a
// Program keeps no more of it); an elem_match explains its group on at
// most MaxExplainElements elements, and element trees stop once an
// explanation holds MaxExplainNodes groups and conditions (the segment's
// own are always all there).
const (
	MaxExplainValueBytes       = plan.MaxExplainValueBytes
	MaxExplainFilterValueBytes = plan.MaxExplainFilterValueBytes
	MaxExplainElements         = plan.MaxExplainElements
	MaxExplainNodes            = plan.MaxExplainNodes
)
