package operators

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// Context is what a Test may read besides the value: the evaluation's
// clock (zero unless the program has an operator that reads it).
type Context struct {
	Now time.Time
}

// Test decides one condition for one field reading. It never fails.
type Test func(v Value, c Context) bool

// Arg is what an operator prepares from: the filter's value and flags.
type Arg struct {
	Value      json.RawMessage // nil when the filter has no value
	IgnoreCase bool
	Pointer    string // JSON Pointer of the filter, for errors
	Depth      int    // nesting depth of the filter
	// Group compiles a group {match, filters} whose fields are relative to
	// one array element (for elem_match); pointer locates it.
	Group func(raw json.RawMessage, pointer string, depth int) (Test, error)
	// Size is set by Prepare to what the prepared test holds beyond its
	// value, in estimated bytes (a regex's program, an expression's
	// bytecode); the compiler adds it to Program.Size.
	Size int
	// Cost is set by Prepare to the test's worst-case evaluation cost, in
	// ns per byte of the contact it reads (a regex's program, an
	// expression's loops); 0 means the ordinary cost of one pass. The
	// compiler bounds a segment's total (segmatch.MaxSegmentCost).
	Cost int
}

// Operator is one entry of the registry.
type Operator struct {
	Name    string   // canonical snake_case name
	Aliases []string // other accepted spellings, Tiledesk's among them
	// Prepare turns the filter's value into a Test, once.
	Prepare func(a *Arg) (Test, error)
	// PrepareScalar, for operators of the Scalar shape, replaces Prepare
	// (which the registry then derives from it).
	PrepareScalar func(a *Arg) (*Scalar, error)
	// ReadsNow: the Test reads Context.Now.
	ReadsNow bool
	// Index is how a field index decides many of its conditions on one
	// field together (NotIndexed: one by one). A negative operator is
	// decided through its twin's.
	Index IndexKind
	// Negates names the positive twin this operator is the exact
	// complement of (docs/semantics.md rule 3); Prepare is then the twin's.
	Negates *Operator
}

// not builds the registry entry of a negative operator: the exact
// complement of its positive twin, on every input, missing and null
// included.
func not(name string, pos *Operator, aliases ...string) *Operator {
	return &Operator{Name: name, Aliases: aliases, Prepare: pos.Prepare, PrepareScalar: pos.PrepareScalar,
		ReadsNow: pos.ReadsNow, Negates: pos}
}

// builtins is the registry: one line per operator.
var builtins = []*Operator{
	opEq, not("ne", opEq, "!=", "<>", "is not", "not equals"),
	opGt, opGte, opLt, opLte,
	opBetween, not("not_between", opBetween),
	opIn, not("not_in", opIn, "none of"),
	opContains, not("not_contains", opContains, "has not"),
	opStartsWith, opEndsWith,
	opRegex, not("not_regex", opRegex, "!~"),
	opIsSet, not("is_not_set", opIsSet, "is null", "not exists", "is not set"),
	opIsEmpty, not("is_not_empty", opIsEmpty, "is not empty"),
	opBefore, opAfter, opDateBetween,
	opWithinLast, not("not_within_last", opWithinLast), opWithinNext,
	opSemverEq, not("semver_ne", opSemverEq), opSemverGt, opSemverGte, opSemverLt, opSemverLte,
	opContainsAny, opContainsAll, not("contains_none", opContainsAny),
	opElemMatch,
	opInCIDR,
	opExpr,
}

var registry = func() map[string]*Operator {
	m := map[string]*Operator{}
	for _, op := range builtins {
		if op.PrepareScalar != nil {
			ps := op.PrepareScalar
			op.Prepare = func(a *Arg) (Test, error) {
				s, err := ps(a)
				if err != nil {
					return nil, err
				}
				return s.Test, nil
			}
		}
		for _, name := range append([]string{op.Name}, op.Aliases...) {
			if _, dup := m[name]; dup {
				panic("operators: " + name + " registered twice")
			}
			m[name] = op
		}
	}
	return m
}()

// Lookup finds an operator by canonical name or alias (exact spelling).
func Lookup(name string) (*Operator, bool) {
	op, ok := registry[name]
	return op, ok
}

// CanonicalName returns the canonical name of an accepted spelling
// (exact spelling, as Lookup): "=" is "eq", "has not" is "not_contains".
func CanonicalName(spelling string) (string, bool) {
	op, ok := registry[spelling]
	if !ok {
		return "", false
	}
	return op.Name, true
}

// Positive returns the positive operator a spelling tests: its own
// canonical name, or, for a negative operator (docs/semantics.md rule 3), its
// twin's, with negated set ("!=" is "eq", negated). It is the registry's
// naming and nothing else, for backends that implement every operator
// on their own (the oracle, SQL) and share only the alias table.
func Positive(spelling string) (name string, negated bool, ok bool) {
	op, ok := registry[spelling]
	if !ok {
		return "", false, false
	}
	if op.Negates != nil {
		return op.Negates.Name, true, true
	}
	return op.Name, false, true
}

// SpellingsOf lists the accepted spellings of the operator with the
// given canonical name, the canonical name first, then its aliases in
// registry order; nil for a name that is not canonical.
func SpellingsOf(name string) []string {
	op, ok := registry[name]
	if !ok || op.Name != name {
		return nil
	}
	return append([]string{op.Name}, op.Aliases...)
}

// Names lists every accepted spelling, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Spellings lists every accepted spelling, each operator's canonical name
// before its aliases, in registry order: the order a "did you mean" picks
// from on a tie.
func Spellings() []string {
	var out []string
	for _, op := range builtins {
		out = append(out, op.Name)
		out = append(out, op.Aliases...)
	}
	return out
}

// Canonical lists the canonical operator names in registry order.
func Canonical() []string {
	out := make([]string, 0, len(builtins))
	for _, op := range builtins {
		out = append(out, op.Name)
	}
	return out
}

// Errorf reports a bad value at the filter's "/value" (plus sub, a
// pointer suffix such as "/1" for a list element).
func (a *Arg) Errorf(sub string, format string, args ...any) error {
	return filter.Errorf(a.Pointer+"/value"+sub, filter.ErrBadValue, fmt.Sprintf(format, args...))
}
