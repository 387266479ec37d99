package operators

// What a condition costs to evaluate, charged to its segment (Arg.Cost)
// in estimated ns per byte of the contact it reads; segmatch.MaxSegmentCost
// bounds the sum. Measured on this project's machine with the costliest
// inputs for each (README "Bounds"): a condition whose work grows with
// its value (a list tested value by value, a long substring folded at
// every position) pays for it, so no accepted segment may cost more than
// the bound on any contact.
const (
	// CostScan is the least a condition or group costs: one pass over
	// what it reads, element by element (an array of two-byte elements
	// costs 20 to 35 ns a byte to walk, decoded or raw).
	CostScan = 16
	// CostNumber is reading a contact string as a number (rule 1).
	CostNumber = 4
	// CostDate is reading a contact value as a date.
	CostDate = 8
	// CostFold is Unicode simple folding of what is read (ignore_case):
	// 76 ns a byte measured on arrays of short accented strings.
	CostFold = 80
	// CostFoldPerByte is an ignore_case substring search, per byte of the
	// substring (it is compared at every position).
	CostFoldPerByte = 16
	// CostPerElement is testing each element of an array against one
	// value (contains_all tests every value against every element: 76 ns
	// a byte a value measured on two-byte elements).
	CostPerElement = 64
)

// atLeast raises the condition's cost to ns.
func (a *Arg) atLeast(ns int) { a.Cost = max(a.Cost, ns) }
