package plan

// MaxSegmentCost bounds what one evaluation of a segment may cost, in
// estimated nanoseconds per byte of the contact (README "Bounds"): each
// condition is charged what its operator declares in Arg.Cost
// (operators/cost.go: one pass CostScan, folding CostFold, lists per value, a regex
// operators.RegexNsPerInst per instruction of its program, an expression
// its analysed bound plus decoding). At 4096, one evaluation of the costliest accepted
// segment on a 1 MB contact stays within a few seconds of CPU, and a
// typical segment (a few conditions) costs under a microsecond per KB.
const MaxSegmentCost = 4096
