package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/operators"
)

// errInexpressible is wrapped by a translator's reason for not taking a
// segment: the segment is counted, never timed, for that peer.
var errInexpressible = errors.New("not expressible exactly")

func inexpressible(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInexpressible, fmt.Sprintf(format, args...))
}

// op is a condition's operator, canonical.
type op uint8

const (
	opEq op = iota
	opNe
	opIn
	opGt
	opGte
	opLt
	opLte
	opContains
	opStarts
	opEnds
	opIsSet
)

var opOf = map[string]op{
	"eq": opEq, "ne": opNe, "in": opIn, "gt": opGt, "gte": opGte, "lt": opLt, "lte": opLte,
	"contains": opContains, "starts_with": opStarts, "ends_with": opEnds, "is_set": opIsSet,
}

// kind is a JSON value's type, as the schema records it.
type kind uint8

const (
	kUnknown kind = iota // never seen (always missing or null)
	kString
	kNumber
	kBool
	kArray
	kObject
	kMixed // more than one of the above
)

// Schema is what the workload's contacts hold at each path a segment
// reads: one JSON type, or kMixed. The translations to engines that
// cannot test a value's type at run time (LaunchDarkly's clauses,
// GrowthBook's conditions, go-bexpr) rely on it: each is exact on
// contacts whose fields have the workload's types (or are missing or
// null), which the agreement check confirms pair by pair.
type Schema map[string]kind

func kindOf(x any) kind {
	switch x.(type) {
	case string:
		return kString
	case float64:
		return kNumber
	case bool:
		return kBool
	case []any:
		return kArray
	case map[string]any:
		return kObject
	}
	return kUnknown
}

// NewSchema records the type of every path that segs read over the
// decoded contacts maps, missing and null ignored; and of every proper
// prefix of such a path, where a null counts as another type (so kObject
// there means: an object or missing in every contact).
func NewSchema(segs []filter.Segment, maps []map[string]any) Schema {
	sc := Schema{}
	record := func(p string, leaf bool) {
		if _, done := sc[p]; done {
			return
		}
		k := kUnknown
		path := strings.Split(p, ".")
		for _, m := range maps {
			x, ok := lookup(m, path)
			if !ok || (x == nil && leaf) {
				continue
			}
			xk := kindOf(x)
			if x == nil {
				xk = kMixed
			}
			switch {
			case k == kUnknown:
				k = xk
			case k != xk:
				k = kMixed
			}
		}
		sc[p] = k
	}
	var visit func(fs []filter.Filter)
	visit = func(fs []filter.Filter) {
		for i := range fs {
			if fs[i].IsGroup() {
				visit(fs[i].Filters)
				continue
			}
			f := fs[i].Field
			for j := range len(f) {
				if f[j] == '.' {
					record(f[:j], false)
				}
			}
			record(f, true)
		}
	}
	for i := range segs {
		visit(segs[i].Filters)
	}
	return sc
}

func lookup(m map[string]any, path []string) (any, bool) {
	var x any = m
	for _, k := range path {
		o, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		if x, ok = o[k]; !ok {
			return nil, false
		}
	}
	return x, true
}

// canonical is seg with every operator under its canonical name (the
// harness's closures and expr translation know those only).
func canonical(seg filter.Segment) filter.Segment {
	seg.Filters = canonicalFilters(seg.Filters)
	return seg
}

func canonicalFilters(fs []filter.Filter) []filter.Filter {
	out := make([]filter.Filter, len(fs))
	for i, f := range fs {
		if f.IsGroup() {
			f.Filters = canonicalFilters(f.Filters)
		} else if name, ok := operators.CanonicalName(f.Operator); ok {
			f.Operator = name
		}
		out[i] = f
	}
	return out
}

// cond is one condition of a flat segment, its value decoded.
type cond struct {
	field string
	path  []string
	op    op
	str   string   // a string value
	num   float64  // a number value
	bl    bool     // a bool value
	vk    kind     // the value's kind (kString, kNumber, kBool); in: kString
	list  []string // in
	fk    kind     // the field's kind in the schema
	pk    []kind   // the kinds of its proper prefixes
}

// flat is a segment the peers' translators start from: match all or
// any over plain conditions.
type flat struct {
	any   bool
	conds []cond
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// lower reduces seg to a flat segment, or says why it cannot be: the
// translators take the workload's operators (eq, ne, in of strings, gt,
// gte, lt, lte of numbers, contains, starts_with, ends_with, is_set; eq
// on strings, numbers and booleans), match all or any, plain dotted
// paths, no nested group, negate or ignore_case; the field's type in the
// schema must be one the operator's translation is exact for: a scalar
// of the value's type (no fan-out over arrays, no numeric strings), or
// for contains a string or an array.
func lower(seg filter.Segment, sc Schema) (flat, error) {
	out := flat{any: seg.Match == filter.Any}
	for j := range seg.Filters {
		f := &seg.Filters[j]
		if f.IsGroup() {
			return out, inexpressible("nested group")
		}
		if f.Negate || f.IgnoreCase {
			return out, inexpressible("negate or ignore_case")
		}
		name, ok := operators.CanonicalName(f.Operator)
		if !ok {
			name = f.Operator
		}
		o, ok := opOf[name]
		if !ok {
			return out, inexpressible("operator %s", name)
		}
		c := cond{field: f.Field, path: strings.Split(f.Field, "."), op: o, fk: sc[f.Field]}
		for i, k := range c.path {
			if !plainKey.MatchString(k) {
				return out, inexpressible("field %q", f.Field)
			}
			if i > 0 {
				c.pk = append(c.pk, sc[strings.Join(c.path[:i], ".")])
			}
		}
		if o != opIsSet {
			var v any
			if err := json.Unmarshal(f.Value, &v); err != nil {
				return out, err
			}
			switch v := v.(type) {
			case string:
				c.str, c.vk = v, kString
			case float64:
				c.num, c.vk = v, kNumber
			case bool:
				c.bl, c.vk = v, kBool
			case []any:
				if o != opIn {
					return out, inexpressible("%s with a list", name)
				}
				for _, e := range v {
					s, ok := e.(string)
					if !ok {
						return out, inexpressible("in with a %T", e)
					}
					c.list = append(c.list, s)
				}
				c.vk = kString
			default:
				return out, inexpressible("%s with %v", name, v)
			}
			if o == opIn && c.list == nil {
				return out, inexpressible("in without a list")
			}
		}
		if err := c.fieldFits(); err != nil {
			return out, err
		}
		out.conds = append(out.conds, c)
	}
	return out, nil
}

func (c *cond) fieldFits() error {
	switch c.op {
	case opIsSet:
		return nil
	case opContains:
		if c.vk != kString {
			return inexpressible("contains needs a string")
		}
		if c.fk != kString && c.fk != kArray && c.fk != kUnknown {
			return inexpressible("contains on a field of mixed or other type")
		}
		return nil
	case opGt, opGte, opLt, opLte:
		if c.vk != kNumber {
			return inexpressible("ordering on strings")
		}
	case opStarts, opEnds:
		if c.vk != kString {
			return inexpressible("affix needs a string")
		}
	}
	// a scalar of the value's type (or never seen)
	if c.fk != kUnknown && c.fk != c.vk {
		return inexpressible("field %s holds another type (fan-out, numeric strings)", c.field)
	}
	return nil
}
