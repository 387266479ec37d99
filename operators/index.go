package operators

// IndexKind is how many conditions of an operator on one field can be
// decided together, by one field index, when many segments are evaluated
// at once (package engine): a few hash lookups or a binary search per
// contact instead of a test per condition. An operator declares its kind
// in its registry entry; the plan builds the index from it. Only
// conditions without ignore_case, on values of the kind's type, are
// indexed; the others are decided alone.
type IndexKind uint8

const (
	// NotIndexed: every condition is decided by its own test.
	NotIndexed IndexKind = iota
	// IndexEquals: the field (or an element of it) equals the value or
	// one of a list of strings, numbers (rule 1: a numeric string equals
	// its number) or bools.
	IndexEquals
	// IndexAbove, IndexAtLeast, IndexBelow, IndexAtMost: the field's number
	// is >, >=, <, <= a numeric bound.
	IndexAbove
	IndexAtLeast
	IndexBelow
	IndexAtMost
	// IndexContains: a string field contains one of the strings, or an
	// array field has an element equal to one.
	IndexContains
	// IndexPrefix, IndexSuffix: a string field starts / ends with one of
	// the strings.
	IndexPrefix
	IndexSuffix
)

// Ordered reports whether conditions of this kind compare with a numeric
// bound.
func (k IndexKind) Ordered() bool { return k >= IndexAbove && k <= IndexAtMost }

// Strings reports whether conditions of this kind take strings only.
func (k IndexKind) Strings() bool { return k >= IndexContains }
