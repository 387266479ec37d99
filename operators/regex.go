package operators

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/segmatch/segmatch/filter"
)

// Bounds on a regex (README "Bounds"). Go's regexp runs in time linear in
// the input, but its constant is the compiled program: an unanchored
// search may keep a thread alive on every instruction for every byte
// (about 12 ns per instruction per byte on this project's machine). So a
// pattern is bounded by its RE2 program, not only by its text.
const (
	// MaxRegex is the longest pattern accepted, in bytes.
	MaxRegex = 4096
	// MaxRegexProgram bounds a pattern's compiled RE2 program, in
	// instructions (after (?i) and simplification). Patterns a marketer
	// writes take 10 to 60; [[:alpha:]]{1,100} takes 201.
	MaxRegexProgram = 256
	// MaxRegexRepeat bounds a counted repetition {n,m} (Go allows 1000).
	MaxRegexRepeat = 100
	// RegexNsPerInst is the cost, in ns per byte of the string searched,
	// charged to the segment for each program instruction (see Arg.Cost).
	RegexNsPerInst = 12
)

// regex: an unanchored RE2 search matches the string field (or some
// element of an array field). ignore_case adds (?i).
var opRegex = &Operator{Name: "regex", Aliases: []string{"matches", "=~"}, PrepareScalar: prepareRegex}

func prepareRegex(a *Arg) (*Scalar, error) {
	var pat string
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &pat) != nil {
		return nil, a.Errorf("", "want an RE2 pattern string")
	}
	if a.IgnoreCase {
		pat = "(?i)" + pat
	}
	re, cost, err := CompileRegex(pat)
	if err != nil {
		return nil, a.fail(err)
	}
	a.Cost, a.Size = cost.Cost(), cost.Size()
	return &Scalar{Str: re.MatchString}, nil
}

// RegexCost is what a compiled pattern costs.
type RegexCost struct {
	Insts int // RE2 program instructions
	Runes int // rune-range bounds held by the program's character classes
}

// Cost is the evaluation cost charged to a segment, in ns per byte of
// the string searched (Arg.Cost).
func (c RegexCost) Cost() int { return c.Insts * RegexNsPerInst }

// Size estimates the memory a compiled copy holds, in bytes: the program,
// its one-pass copy and the matcher's per-instruction state.
func (c RegexCost) Size() int { return c.Insts*160 + c.Runes*8 }

// CompileRegex compiles an RE2 pattern within the bounds above; an
// over-bound pattern is an error wrapping filter.ErrTooComplex. Every
// regex a segment holds (regex, not_regex, expr's matches) comes through
// here.
func CompileRegex(pat string) (*regexp.Regexp, RegexCost, error) {
	if len(pat) > MaxRegex {
		return nil, RegexCost{}, tooComplexf("pattern is %d bytes; at most %d", len(pat), MaxRegex)
	}
	tree, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return nil, RegexCost{}, err
	}
	if n := maxRepeat(tree); n > MaxRegexRepeat {
		return nil, RegexCost{}, tooComplexf("counted repetition {%d}: at most %d", n, MaxRegexRepeat)
	}
	// Nested repeats multiply: bound the expansion on the tree, before
	// Simplify and Compile build it (a 4 KiB pattern can expand to
	// millions of instructions and hundreds of MB).
	if n := expansion(tree); n > 4*MaxRegexProgram {
		return nil, RegexCost{}, tooComplexf("pattern expands to some %d instructions; at most %d", n, MaxRegexProgram)
	}
	prog, err := syntax.Compile(tree.Simplify())
	if err != nil {
		return nil, RegexCost{}, err
	}
	cost := RegexCost{Insts: len(prog.Inst)}
	for i := range prog.Inst {
		cost.Runes += len(prog.Inst[i].Rune)
	}
	if cost.Insts > MaxRegexProgram {
		return nil, RegexCost{}, tooComplexf("pattern compiles to %d instructions; at most %d", cost.Insts, MaxRegexProgram)
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, RegexCost{}, err
	}
	return re, cost, nil
}

// expansion is an upper estimate of the instructions re compiles to,
// saturating well past the bound.
func expansion(re *syntax.Regexp) int {
	n := 1
	for _, s := range re.Sub {
		n += expansion(s)
	}
	if re.Op == syntax.OpRepeat {
		n *= max(re.Min, re.Max, 1) + 1
	}
	return min(n, 1<<30)
}

// maxRepeat is the largest count of a counted repetition in re.
func maxRepeat(re *syntax.Regexp) int {
	n := 0
	if re.Op == syntax.OpRepeat {
		n = max(re.Min, re.Max)
	}
	for _, s := range re.Sub {
		n = max(n, maxRepeat(s))
	}
	return n
}

func tooComplexf(format string, args ...any) error {
	return boundError{detail: fmt.Sprintf(format, args...)}
}

// boundError is a bound crossed by a filter's value; Arg.fail locates it.
type boundError struct{ detail string }

func (e boundError) Error() string { return e.detail }
func (e boundError) Unwrap() error { return filter.ErrTooComplex }

// fail locates err at the filter's value: ErrTooComplex for a bound,
// ErrBadValue otherwise.
func (a *Arg) fail(err error) error {
	if b, ok := err.(boundError); ok {
		return filter.Errorf(a.Pointer+"/value", filter.ErrTooComplex, b.detail)
	}
	return a.Errorf("", "%v", err)
}
