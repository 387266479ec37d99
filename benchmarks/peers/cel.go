package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/segmatch/segmatch/filter"
)

// cel-go: the contact is one variable c, a map(string, dyn). Either one
// program per segment, in the lean translation (celLeanCond: an error is
// a false condition; half the CPU of the guarded one at 200 segments), or
// one program whose result is the list of every segment's boolean, in
// the error-free translation (celCond: each path guarded with has() and
// a type test where needed), since one error would make the whole list
// an error. Either way a missing or null field (or one of another type)
// is false for a positive operator and true for ne, as SEMANTICS.md says.

func celExpress(seg filter.Segment, sc Schema) error {
	_, err := lower(seg, sc)
	return err
}

// celSource is the CEL translation of a flat segment, error-free
// (celCond) or lean (celLeanCond).
func celSource(f flat, lean bool) string {
	if len(f.conds) == 0 {
		return "true"
	}
	join := " && "
	if f.any {
		join = " || "
	}
	parts := make([]string, len(f.conds))
	for i := range f.conds {
		if lean {
			parts[i] = "(" + celLeanCond(&f.conds[i]) + ")"
		} else {
			parts[i] = "(" + celCond(&f.conds[i]) + ")"
		}
	}
	return strings.Join(parts, join)
}

func celLit(c *cond) string {
	switch c.vk {
	case kNumber:
		s := strconv.FormatFloat(c.num, 'f', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case kBool:
		return strconv.FormatBool(c.bl)
	}
	return strconv.Quote(c.str)
}

// celCond is one condition. Each step of the path is tested with has();
// a parent that is not always an object (or missing) in the schema is
// also tested to be a map. The value is type-tested only where the
// operator would fail on another type (ordering, string functions, in
// on a list): eq, ne and in are heterogeneous equality in CEL, false on
// null or another type. So no condition yields an error, and ne, the
// negation of eq, is true on a missing or null field.
func celCond(c *cond) string {
	var g []string
	x := "c"
	for i, k := range c.path {
		if i > 0 && c.pk[i-1] != kObject {
			g = append(g, "type("+x+") == map")
		}
		g = append(g, "has("+x+"."+k+")")
		x += "." + k
	}
	guard := strings.Join(g, " && ")
	var test string
	switch c.op {
	case opIsSet:
		test = x + " != null"
	case opEq, opNe:
		test = x + " == " + celLit(c)
	case opIn:
		q := make([]string, len(c.list))
		for i, s := range c.list {
			q[i] = strconv.Quote(s)
		}
		test = fmt.Sprintf("%s in [%s]", x, strings.Join(q, ", "))
	case opGt, opGte, opLt, opLte:
		sym := map[op]string{opGt: ">", opGte: ">=", opLt: "<", opLte: "<="}[c.op]
		test = fmt.Sprintf("type(%s) == double && %s %s %s", x, x, sym, celLit(c))
	case opContains:
		switch c.fk {
		case kArray:
			test = fmt.Sprintf("type(%s) == list && %s in %s", x, celLit(c), x)
		case kString, kUnknown:
			test = fmt.Sprintf("type(%s) == string && %s.contains(%s)", x, x, celLit(c))
		default:
			test = fmt.Sprintf("type(%s) == string ? %s.contains(%s) : (type(%s) == list && %s in %s)", x, x, celLit(c), x, celLit(c), x)
		}
	case opStarts:
		test = fmt.Sprintf("type(%s) == string && %s.startsWith(%s)", x, x, celLit(c))
	case opEnds:
		test = fmt.Sprintf("type(%s) == string && %s.endsWith(%s)", x, x, celLit(c))
	}
	pos := guard + " && " + test
	if c.op == opNe {
		return "!(" + pos + ")"
	}
	return pos
}

// celLeanCond is a condition for a program of its own segment: a
// positive operator is written bare (c.attributes.age > 30.0), and on a
// missing key, a null or another type CEL yields an error; && and ||
// absorb an error whenever the other side decides, and an error left at
// the top is read as false: the condition was false, so the segment is
// answered exactly. Only ne, a negation, must not see an error: it is
// "missing, or not equal", its path tested with has() (the schema's
// parents being objects wherever they are present, else it is guarded
// as in celCond).
func celLeanCond(c *cond) string {
	x := "c." + strings.Join(c.path, ".")
	switch c.op {
	case opIsSet:
		return x + " != null"
	case opEq:
		return x + " == " + celLit(c)
	case opNe:
		for _, k := range c.pk {
			if k != kObject {
				return celCond(c)
			}
		}
		var g []string
		y := "c"
		for _, k := range c.path {
			y += "." + k
			g = append(g, "has("+y+")")
		}
		return "!(" + strings.Join(g, " && ") + ") || " + x + " != " + celLit(c)
	case opIn:
		q := make([]string, len(c.list))
		for i, s := range c.list {
			q[i] = strconv.Quote(s)
		}
		return fmt.Sprintf("%s in [%s]", x, strings.Join(q, ", "))
	case opGt, opGte, opLt, opLte:
		sym := map[op]string{opGt: ">", opGte: ">=", opLt: "<", opLte: "<="}[c.op]
		return fmt.Sprintf("%s %s %s", x, sym, celLit(c))
	case opContains:
		switch c.fk {
		case kArray:
			return fmt.Sprintf("%s in %s", celLit(c), x)
		case kString, kUnknown:
			return fmt.Sprintf("%s.contains(%s)", x, celLit(c))
		}
		return celCond(c)
	case opStarts:
		return fmt.Sprintf("%s.startsWith(%s)", x, celLit(c))
	}
	return fmt.Sprintf("%s.endsWith(%s)", x, celLit(c))
}

func celType(k kind) string {
	switch k {
	case kNumber:
		return "double"
	case kBool:
		return "bool"
	}
	return "string"
}

// celEnv declares c; the parser's size limit is lifted for the one
// program over every segment.
func celEnv() (*cel.Env, error) {
	return cel.NewEnv(cel.Variable("c", cel.MapType(cel.StringType, cel.DynType)),
		cel.ParserExpressionSizeLimit(1<<30))
}

// CELOneProgramMax is the most segments the one-program form is built
// for: cel-go's checker copies its whole type-substitution mapping at
// every overload it resolves, and the mapping grows with every
// parametric call (==, in, type(), ?:) of the expression, so checking
// one expression of n segments takes time quadratic in n: 0.3 s at 25
// segments, 2.9 s at 100, 9.8 s at 200 (one program per segment: 2.8 ms
// each). Above this, the one program is reported as not built.
const CELOneProgramMax = 200

type celPeer struct {
	progs []cel.Program // one per segment, or one for all
	all   bool
	n     int
}

func celBuild(all bool) func([]filter.Segment, Schema) (Peer, error) {
	return func(segs []filter.Segment, sc Schema) (Peer, error) {
		env, err := celEnv()
		if err != nil {
			return nil, err
		}
		srcs := make([]string, len(segs))
		for i := range segs {
			f, err := lower(segs[i], sc)
			if err != nil {
				return nil, err
			}
			srcs[i] = celSource(f, !all)
		}
		if all {
			if len(segs) > CELOneProgramMax {
				return nil, fmt.Errorf("one program over %d segments: more than %d (checking is quadratic in the expression's size)", len(segs), CELOneProgramMax)
			}
			srcs = []string{"[" + strings.Join(srcs, ",\n") + "]"}
		}
		p := &celPeer{all: all, n: len(segs)}
		for _, src := range srcs {
			ast, iss := env.Compile(src)
			if iss.Err() != nil {
				return nil, fmt.Errorf("cel: %w", iss.Err())
			}
			prg, err := env.Program(ast) // cel.OptOptimize made evaluation slower (1.2 vs 0.75 ms per contact at 100 segments)
			if err != nil {
				return nil, err
			}
			p.progs = append(p.progs, prg)
		}
		return p, nil
	}
}

func (p *celPeer) Raw(raw []byte, dst []bool) error {
	m, err := jsonDecode(raw)
	if err != nil {
		return err
	}
	p.eval(map[string]any{"c": m}, dst)
	return nil
}

func (p *celPeer) Decode(raw []byte) (any, error) {
	m, err := jsonDecode(raw)
	if err != nil {
		return nil, err
	}
	return interpreter.NewActivation(map[string]any{"c": m})
}

func (p *celPeer) Native(x any, dst []bool) { p.eval(x, dst) }

func (p *celPeer) eval(act any, dst []bool) {
	if !p.all {
		for i, prg := range p.progs {
			out, _, err := prg.Eval(act)
			dst[i] = err == nil && out == types.True
		}
		return
	}
	out, _, err := p.progs[0].Eval(act)
	l, ok := out.(traits.Lister)
	if err != nil || !ok {
		clear(dst)
		return
	}
	for i := range p.n {
		var v ref.Val = l.Get(types.Int(i))
		dst[i] = v == types.True
	}
}
