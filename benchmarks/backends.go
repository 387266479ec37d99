package benchmarks

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// Backend answers, for one raw JSON contact, which segments it is in.
// A Backend is prepared once and then used by one goroutine.
type Backend interface {
	Name() string
	// Classify sets dst[i] (len(dst) = number of segments) to whether the
	// contact is in segment i.
	Classify(raw []byte, dst []bool) error
}

// Names of the five backends, in the order they are reported, and of the
// validate-only floors.
const (
	Engine      = "engine"
	Programs    = "programs"
	GJSON       = "gjson"
	DecodeMatch = "decode+match"
	Expr        = "expr"
	// JSONValid and RawValid only check that the contact is well-formed
	// JSON (encoding/json.Valid; rawjson.ValidateObject, the engine's own
	// validator without the collection of members): the parse floor, which
	// no backend that validates exactly can go under.
	JSONValid = "json.Valid"
	RawValid  = "rawjson.Valid"
)

// AllBackends lists the backend names in report order: the five that
// classify, then the validate-only floors.
var AllBackends = []string{Engine, Programs, GJSON, DecodeMatch, Expr, JSONValid, RawValid}

// Floors are the validate-only backends: they answer no segment (dst is
// left false), and Agree does not compare them.
var Floors = []string{JSONValid, RawValid}

// IsFloor reports whether name is a validate-only backend.
func IsFloor(name string) bool { return slices.Contains(Floors, name) }

// New prepares the named backend for segs. opts (the clock) go to the
// engine and the programs.
func New(name string, segs []filter.Segment, opts ...segmatch.Option) (Backend, error) {
	switch name {
	case Engine:
		return NewEngine(segs, opts...)
	case Programs:
		ps, err := compileAll(segs, opts)
		if err != nil {
			return nil, err
		}
		return &programsBackend{progs: ps}, nil
	case GJSON:
		return NewGJSON(segs)
	case DecodeMatch:
		ps, err := compileAll(segs, opts)
		if err != nil {
			return nil, err
		}
		return &decodeMatchBackend{progs: ps}, nil
	case Expr:
		return NewExpr(segs)
	case JSONValid:
		return NewFloor(JSONValid, json.Valid), nil
	case RawValid:
		return NewFloor(RawValid, func(b []byte) bool { return rawjson.ValidateObject(b) == nil }), nil
	}
	return nil, fmt.Errorf("benchmarks: unknown backend %q", name)
}

func compileAll(segs []filter.Segment, opts []segmatch.Option) ([]*segmatch.Program, error) {
	ps := make([]*segmatch.Program, len(segs))
	for i := range segs {
		p, err := segmatch.Compile(segs[i], opts...)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		ps[i] = p
	}
	return ps, nil
}

// ---- engine ----

type engineBackend struct {
	eng *engine.Engine
	res *engine.Result
}

// NewEngine is the engine backend: ClassifyJSONInto with a reused Result.
func NewEngine(segs []filter.Segment, opts ...segmatch.Option) (Backend, error) {
	eng, err := engine.New(segs, opts...)
	if err != nil {
		return nil, err
	}
	return &engineBackend{eng: eng, res: eng.NewResult()}, nil
}

func (b *engineBackend) Name() string { return Engine }

func (b *engineBackend) Classify(raw []byte, dst []bool) error {
	if err := b.eng.ClassifyJSONInto(raw, b.res); err != nil {
		return err
	}
	copy(dst, b.res.Matches)
	return nil
}

// ---- validate-only floors ----

// ErrInvalid is a floor backend's error for a contact it refuses.
var ErrInvalid = errors.New("benchmarks: malformed JSON")

type floorBackend struct {
	name  string
	valid func([]byte) bool
}

// NewFloor is a validate-only backend named name: valid decides whether a
// contact is well-formed, and no segment is answered (dst is not touched).
// Another module can measure its own validator (sonic's, say) beside the
// engine with it.
func NewFloor(name string, valid func([]byte) bool) Backend {
	return &floorBackend{name: name, valid: valid}
}

func (b *floorBackend) Name() string { return b.name }

func (b *floorBackend) Classify(raw []byte, dst []bool) error {
	if !b.valid(raw) {
		return ErrInvalid
	}
	return nil
}

// ---- one Program per segment, MatchJSON ----

type programsBackend struct{ progs []*segmatch.Program }

func (b *programsBackend) Name() string { return Programs }

func (b *programsBackend) Classify(raw []byte, dst []bool) error {
	for i, p := range b.progs {
		ok, err := p.MatchJSON(raw)
		if err != nil {
			return err
		}
		dst[i] = ok
	}
	return nil
}

// ---- decode to a map, then Program.Match ----

type decodeMatchBackend struct{ progs []*segmatch.Program }

func (b *decodeMatchBackend) Name() string { return DecodeMatch }

func (b *decodeMatchBackend) Classify(raw []byte, dst []bool) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for i, p := range b.progs {
		dst[i] = p.Match(m)
	}
	return nil
}

// ---- naive gjson ----

// ErrUnsupported is wrapped by the error of a backend that cannot express
// a segment (gjson and expr translate only the workload's operators).
var ErrUnsupported = errors.New("not supported by this backend")

type gop uint8

const (
	gEq gop = iota
	gNe
	gIn
	gGt
	gGte
	gLt
	gLte
	gContains
	gStarts
	gEnds
	gIsSet
)

var gops = map[string]gop{
	"eq": gEq, "=": gEq, "==": gEq, "ne": gNe, "!=": gNe, "in": gIn,
	"gt": gGt, ">": gGt, "gte": gGte, ">=": gGte, "lt": gLt, "<": gLt, "lte": gLte, "<=": gLte,
	"contains": gContains, "starts_with": gStarts, "ends_with": gEnds, "is_set": gIsSet, "exists": gIsSet,
}

// gcond is one condition for the gjson backend: the path, the operator
// and the value decoded once.
type gcond struct {
	path string
	op   gop
	val  gjson.Result   // the value (scalar)
	list []gjson.Result // in
}

type gseg struct {
	any   bool
	conds []gcond
}

type gjsonBackend struct{ segs []gseg }

// NewGJSON is the naive raw-JSON baseline: for each segment, for each
// condition, gjson.GetBytes(raw, field) and a straightforward comparison.
// It reports ErrUnsupported for what the workload does not use.
func NewGJSON(segs []filter.Segment) (Backend, error) {
	b := &gjsonBackend{}
	for i := range segs {
		s := gseg{any: segs[i].Match == filter.Any}
		for j := range segs[i].Filters {
			f := &segs[i].Filters[j]
			if f.IsGroup() || f.Negate || f.IgnoreCase {
				return nil, fmt.Errorf("segment %d filter %d: groups, negate, ignore_case: %w", i, j, ErrUnsupported)
			}
			op, ok := gops[f.Operator]
			if !ok {
				return nil, fmt.Errorf("segment %d: operator %q: %w", i, f.Operator, ErrUnsupported)
			}
			if !plainPath(f.Field) {
				return nil, fmt.Errorf("segment %d: field %q: %w", i, f.Field, ErrUnsupported)
			}
			c := gcond{path: f.Field, op: op}
			if op != gIsSet {
				v := gjson.ParseBytes(f.Value)
				if op == gIn {
					if !v.IsArray() {
						return nil, fmt.Errorf("segment %d: in needs an array: %w", i, ErrUnsupported)
					}
					c.list = v.Array()
				} else if v.IsArray() || v.IsObject() {
					return nil, fmt.Errorf("segment %d: %s with a list: %w", i, f.Operator, ErrUnsupported)
				} else {
					c.val = v
				}
			}
			s.conds = append(s.conds, c)
		}
		b.segs = append(b.segs, s)
	}
	return b, nil
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// plainPath: dot-separated identifiers (no escapes, indexes, wildcards),
// which gjson, expr and segmatch all read the same way.
func plainPath(p string) bool {
	for k := range strings.SplitSeq(p, ".") {
		if !plainKey.MatchString(k) {
			return false
		}
	}
	return true
}

func (b *gjsonBackend) Name() string { return GJSON }

func (b *gjsonBackend) Classify(raw []byte, dst []bool) error {
	for i := range b.segs {
		s := &b.segs[i]
		ok := !s.any || len(s.conds) == 0
		for j := range s.conds {
			if gtest(&s.conds[j], gjson.GetBytes(raw, s.conds[j].path)) == s.any {
				ok = s.any
				break
			}
		}
		dst[i] = ok
	}
	return nil
}

func gequal(r, v gjson.Result) bool {
	switch v.Type {
	case gjson.String:
		return r.Type == gjson.String && r.Str == v.Str
	case gjson.Number:
		return r.Type == gjson.Number && r.Num == v.Num
	case gjson.True, gjson.False:
		return r.Type == v.Type
	}
	return false
}

func gtest(c *gcond, r gjson.Result) bool {
	switch c.op {
	case gIsSet:
		return r.Exists() && r.Type != gjson.Null
	case gNe:
		return !gequal(r, c.val)
	case gEq:
		return gequal(r, c.val)
	case gIn:
		for _, v := range c.list {
			if gequal(r, v) {
				return true
			}
		}
		return false
	case gGt, gGte, gLt, gLte:
		var cmp int
		switch {
		case c.val.Type == gjson.Number && r.Type == gjson.Number:
			cmp = compare(r.Num, c.val.Num)
		case c.val.Type == gjson.String && r.Type == gjson.String:
			cmp = strings.Compare(r.Str, c.val.Str)
		default:
			return false
		}
		switch c.op {
		case gGt:
			return cmp > 0
		case gGte:
			return cmp >= 0
		case gLt:
			return cmp < 0
		}
		return cmp <= 0
	case gContains:
		if r.IsArray() {
			found := false
			r.ForEach(func(_, e gjson.Result) bool {
				found = e.Type == gjson.String && e.Str == c.val.Str
				return !found
			})
			return found
		}
		return r.Type == gjson.String && strings.Contains(r.Str, c.val.Str)
	case gStarts:
		return r.Type == gjson.String && strings.HasPrefix(r.Str, c.val.Str)
	case gEnds:
		return r.Type == gjson.String && strings.HasSuffix(r.Str, c.val.Str)
	}
	return false
}

func compare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- expr-lang ----

type exprBackend struct {
	progs []*vm.Program
	vm    vm.VM
}

// NewExpr translates each segment to one expr-lang program (a direct
// translation for the workload's operators, not the oracle's general one),
// run on the decoded contact with a reused VM. A run-time error (a value
// of an unexpected type) counts as no match.
func NewExpr(segs []filter.Segment) (Backend, error) {
	b := &exprBackend{}
	for i := range segs {
		src, err := ExprSource(segs[i])
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		p, err := expr.Compile(src, expr.AllowUndefinedVariables(), expr.AsBool())
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w\n%s", i, err, src)
		}
		b.progs = append(b.progs, p)
	}
	return b, nil
}

// ExprSource is the expr-lang translation of a workload segment, e.g.
// `country == "IT" && (attributes?.age != nil && attributes?.age >= 30)`.
func ExprSource(seg filter.Segment) (string, error) {
	if len(seg.Filters) == 0 {
		return "true", nil
	}
	join := " && "
	if seg.Match == filter.Any {
		join = " || "
	}
	var parts []string
	for j := range seg.Filters {
		f := &seg.Filters[j]
		if f.IsGroup() || f.Negate || f.IgnoreCase {
			return "", fmt.Errorf("filter %d: groups, negate, ignore_case: %w", j, ErrUnsupported)
		}
		if !plainPath(f.Field) {
			return "", fmt.Errorf("field %q: %w", f.Field, ErrUnsupported)
		}
		x := strings.ReplaceAll(f.Field, ".", "?.")
		op, ok := gops[f.Operator]
		if !ok {
			return "", fmt.Errorf("operator %q: %w", f.Operator, ErrUnsupported)
		}
		if op == gIsSet {
			parts = append(parts, "("+x+" != nil)")
			continue
		}
		var v any
		if err := json.Unmarshal(f.Value, &v); err != nil {
			return "", err
		}
		lit, err := exprLit(v)
		if err != nil {
			return "", err
		}
		var p string
		switch op {
		case gEq:
			p = x + " == " + lit
		case gNe:
			p = x + " != " + lit
		case gIn:
			if _, ok := v.([]any); !ok {
				return "", fmt.Errorf("in needs a list: %w", ErrUnsupported)
			}
			p = x + " in " + lit
		case gGt, gGte, gLt, gLte:
			sym := map[gop]string{gGt: ">", gGte: ">=", gLt: "<", gLte: "<="}[op]
			typ := "float"
			if _, ok := v.(string); ok {
				typ = "string"
			}
			p = fmt.Sprintf("type(%s) == %q && %s %s %s", x, typ, x, sym, lit)
		case gContains:
			p = fmt.Sprintf(`type(%s) == "array" ? %s in %s : type(%s) == "string" && %s contains %s`, x, lit, x, x, x, lit)
		case gStarts:
			p = fmt.Sprintf(`type(%s) == "string" && %s startsWith %s`, x, x, lit)
		case gEnds:
			p = fmt.Sprintf(`type(%s) == "string" && %s endsWith %s`, x, x, lit)
		}
		parts = append(parts, "("+p+")")
	}
	return strings.Join(parts, join), nil
}

func exprLit(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v), nil
	case float64:
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s, nil
	case bool:
		return strconv.FormatBool(v), nil
	case []any:
		var out []string
		for _, e := range v {
			l, err := exprLit(e)
			if err != nil {
				return "", err
			}
			out = append(out, l)
		}
		return "[" + strings.Join(out, ", ") + "]", nil
	}
	return "", fmt.Errorf("value %v: %w", v, ErrUnsupported)
}

func (b *exprBackend) Name() string { return Expr }

func (b *exprBackend) Classify(raw []byte, dst []bool) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for i, p := range b.progs {
		out, err := b.vm.Run(p, m)
		dst[i] = err == nil && out == true
	}
	return nil
}
