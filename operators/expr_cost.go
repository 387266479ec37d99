package operators

import (
	"fmt"
	"math"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Bounds on an expr expression (README "Bounds"). Its worst-case cost is
// decided before it is compiled, from its syntax tree, as a bound linear
// in the size of the value it reads: K + C × bytes. K and C are estimated
// nanoseconds on this project's machine (a VM step 20 ns, a loop
// iteration 50 ns, a byte read, compared, copied or produced 1 ns, a regex
// 12 ns per instruction per byte), and memory allocated is bounded by the
// bytes produced, which the cost counts. An expression whose cost cannot
// be bounded so (a loop over the data inside a loop over the data, a
// product of two data-sized strings, a range or repeat count that is not
// a literal, a pattern that is not a literal) is a compile error.
const (
	// MaxExprConstNs bounds K: work that does not grow with the contact
	// (loops over literal ranges, literal strings built).
	MaxExprConstNs = 2_000_000 // 2 ms
	// MaxExprNsPerByte bounds C, per byte of the value read.
	MaxExprNsPerByte = 2048
	// ExprDecodeNsPerByte is charged on top of C to the segment: raw JSON
	// is decoded into the expression's environment.
	ExprDecodeNsPerByte = 64
	// MaxExprConstBytes and MaxExprBytesPerByte bound what one evaluation
	// allocates, beyond decoding its environment (some 30 bytes a byte).
	MaxExprConstBytes   = 1 << 20
	MaxExprBytesPerByte = 64
)

// weights price what an expression does. The analysis runs twice: once
// for time (nanoseconds) and once for memory (bytes allocated), with the
// same bounds on value sizes.
type weights struct {
	step  float64 // one VM operation
	iter  float64 // one loop iteration's overhead
	read  float64 // per byte of data a comparison, search or builtin reads (an element may be two bytes and cost 50 ns by reflection)
	eq    float64 // per byte an == or != compares (maps compare by reflect.DeepEqual, which allocates)
	sort  float64 // per byte sorted, on top of the read: log2 of a million
	regex float64 // per byte and RegexNsPerInst
	make  float64 // per byte a value produced takes
}

var (
	timeWeights   = weights{step: 20, iter: 50, read: 32, eq: 32, sort: 24, regex: 1, make: 1}
	memoryWeights = weights{eq: 8, make: 1}
)

const scalar = 16 // the size of a number, bool or nil

// sym is a bound K + Σ c[l]·size(l): level 0 is the expression's
// environment (the field's value), level l > 0 the element of the l-th
// enclosing loop over data. Sizes are bytes of the contact.
type sym struct {
	k float64
	c []float64
}

func konst(k float64) sym { return sym{k: k} }

func level(l int) sym {
	s := sym{c: make([]float64, l+1)}
	s.c[l] = 1
	return s
}

func (a sym) add(b sym) sym {
	out := sym{k: a.k + b.k, c: make([]float64, max(len(a.c), len(b.c)))}
	for i := range out.c {
		out.c[i] = at(a.c, i) + at(b.c, i)
	}
	return out
}

func (a sym) max(b sym) sym {
	out := sym{k: math.Max(a.k, b.k), c: make([]float64, max(len(a.c), len(b.c)))}
	for i := range out.c {
		out.c[i] = math.Max(at(a.c, i), at(b.c, i))
	}
	return out
}

func (a sym) scale(f float64) sym {
	out := sym{k: a.k * f, c: make([]float64, len(a.c))}
	for i, v := range a.c {
		out.c[i] = v * f
	}
	return out
}

// data reports whether the bound grows with some level below upto.
func (a sym) data(upto int) bool {
	for i := 0; i < min(upto, len(a.c)); i++ {
		if a.c[i] != 0 {
			return true
		}
	}
	return false
}

// drop removes level l (an exhausted loop's element) from a bound.
func (a sym) drop(l int) sym {
	if len(a.c) > l {
		a.c = a.c[:l]
	}
	return a
}

func at(c []float64, i int) float64 {
	if i < len(c) {
		return c[i]
	}
	return 0
}

// mul is a·b, which must stay linear: one of them constant.
func mul(a, b sym) (sym, bool) {
	switch {
	case !a.data(math.MaxInt):
		return b.scale(a.k), true
	case !b.data(math.MaxInt):
		return a.scale(b.k), true
	}
	return sym{}, false
}

// shape is what the analysis knows of one node's value and evaluation.
type shape struct {
	size  sym
	cost  sym
	count float64 // a literal collection's length (range, array); -1 when unknown
	elem  float64 // a literal collection's largest element, when count is known
	str   *string // a string literal's value
	num   *int    // an integer literal's value
}

// costError is an expression beyond the bounds (ErrTooComplex) or using
// what a segment may not (ErrBadValue, when bad is set).
type costError struct {
	msg string
	bad bool
}

func (e *costError) Error() string { return e.msg }

// loop is an enclosing predicate's element.
type loop struct {
	elem  shape
	level int // > 0 when the element is part of the data
}

type analysis struct {
	w         weights
	vars      map[string]shape
	loops     []loop
	err       *costError
	regexSize int // memory of the compiled patterns of matches
}

// exprCost bounds src's evaluation, or says why it cannot: time as
// K + C × bytes read (ns) and memory allocated likewise (bytes).
func exprCost(src string) (k, c float64, regexSize int, err error) {
	tree, perr := parser.Parse(src)
	if perr != nil {
		return 0, 0, 0, perr
	}
	run := func(w weights) (sym, int, error) {
		a := &analysis{w: w, vars: map[string]shape{}}
		s := a.node(tree.Node)
		if a.err != nil {
			if a.err.bad {
				return sym{}, 0, a.err
			}
			return sym{}, 0, boundError{detail: a.err.msg}
		}
		return s.cost, a.regexSize, nil
	}
	cost, regexSize, err := run(timeWeights)
	if err != nil {
		return 0, 0, 0, err
	}
	mem, _, err := run(memoryWeights)
	if err != nil {
		return 0, 0, 0, err
	}
	k, c = cost.k, at(cost.c, 0)
	switch mk, mc := mem.k, at(mem.c, 0); {
	case k > MaxExprConstNs || math.IsNaN(k):
		return 0, 0, 0, tooComplexf("expression may cost %.3g ns whatever the contact; at most %d", k, MaxExprConstNs)
	case c > MaxExprNsPerByte || math.IsNaN(c):
		return 0, 0, 0, tooComplexf("expression may cost %.3g ns per byte of the value read; at most %d", c, MaxExprNsPerByte)
	case mk > MaxExprConstBytes || math.IsNaN(mk):
		return 0, 0, 0, tooComplexf("expression may allocate %.3g bytes whatever the contact; at most %d", mk, MaxExprConstBytes)
	case mc > MaxExprBytesPerByte || math.IsNaN(mc):
		return 0, 0, 0, tooComplexf("expression may allocate %.3g bytes per byte of the value read; at most %d", mc, MaxExprBytesPerByte)
	}
	return k, c, regexSize, nil
}

func (a *analysis) fail(bad bool, format string, args ...any) shape {
	if a.err == nil {
		a.err = &costError{msg: fmt.Sprintf(format, args...), bad: bad}
	}
	return shape{count: -1}
}

func lit(size, cost float64) shape { return shape{size: konst(size), cost: konst(cost), count: -1} }

// sumCost is the cost of evaluating every node plus one step.
func (a *analysis) all(ns []ast.Node) ([]shape, sym) {
	out := make([]shape, len(ns))
	cost := konst(a.w.step)
	for i, n := range ns {
		out[i] = a.node(n)
		cost = cost.add(out[i].cost)
	}
	return out, cost
}

func (a *analysis) node(n ast.Node) shape {
	if a.err != nil || n == nil {
		return shape{count: -1}
	}
	switch n := n.(type) {
	case *ast.NilNode, *ast.BoolNode, *ast.FloatNode:
		return lit(scalar, a.w.step)
	case *ast.IntegerNode:
		v := n.Value
		s := lit(scalar, a.w.step)
		s.num = &v
		return s
	case *ast.StringNode:
		v := n.Value
		s := lit(float64(len(v)), a.w.step)
		s.str = &v
		return s
	case *ast.BytesNode:
		return lit(float64(len(n.Value)), a.w.step)
	case *ast.ConstantNode:
		return a.fail(true, "constant nodes are not expected before compilation")
	case *ast.IdentifierNode:
		if v, ok := a.vars[n.Value]; ok {
			v.cost = konst(a.w.step)
			return v
		}
		return shape{size: level(0), cost: konst(a.w.step), count: -1}
	case *ast.PointerNode:
		if len(a.loops) == 0 {
			return a.fail(true, "# outside a predicate")
		}
		if n.Name != "" {
			return lit(scalar, a.w.step) // #index
		}
		e := a.loops[len(a.loops)-1].elem
		e.cost = konst(a.w.step)
		return e
	case *ast.UnaryNode:
		x := a.node(n.Node)
		s := lit(scalar, 0)
		s.cost = x.cost.add(konst(a.w.step))
		if n.Operator == "-" && x.num != nil {
			v := -*x.num
			s.num = &v
		}
		return s
	case *ast.ChainNode:
		return a.node(n.Node)
	case *ast.MemberNode:
		if n.Method {
			return a.fail(true, "method calls are not allowed")
		}
		x, p := a.node(n.Node), a.node(n.Property)
		return shape{size: x.size, cost: x.cost.add(p.cost).add(konst(a.w.step)), count: -1}
	case *ast.SliceNode:
		x, from, to := a.node(n.Node), a.node(n.From), a.node(n.To)
		return shape{size: x.size, cost: x.cost.add(from.cost).add(to.cost).add(konst(a.w.step)), count: -1}
	case *ast.ArrayNode:
		items, cost := a.all(n.Nodes)
		size, largest := konst(0), konst(0)
		for _, it := range items {
			size = size.add(it.size).add(konst(scalar))
			largest = largest.max(it.size)
		}
		if largest.data(math.MaxInt) {
			return shape{size: size, cost: cost.add(size.scale(a.w.make)), count: -1}
		}
		// Literal items only: the compiler folds it into a constant.
		return shape{size: size, cost: cost, count: float64(len(items)), elem: largest.k}
	case *ast.MapNode:
		items, cost := a.all(n.Pairs)
		size := konst(0)
		for _, it := range items {
			size = size.add(it.size)
		}
		return shape{size: size, cost: cost.add(size.scale(a.w.make)), count: -1}
	case *ast.PairNode:
		k, v := a.node(n.Key), a.node(n.Value)
		return shape{size: k.size.add(v.size).add(konst(2 * scalar)), cost: k.cost.add(v.cost), count: -1}
	case *ast.ConditionalNode:
		c, e1, e2 := a.node(n.Cond), a.node(n.Exp1), a.node(n.Exp2)
		return shape{size: e1.size.max(e2.size), cost: c.cost.add(e1.cost.max(e2.cost)).add(konst(a.w.step)), count: -1}
	case *ast.VariableDeclaratorNode:
		v := a.node(n.Value)
		prev, had := a.vars[n.Name]
		a.vars[n.Name] = shape{size: v.size, count: v.count, str: v.str, num: v.num}
		e := a.node(n.Expr)
		if had {
			a.vars[n.Name] = prev
		} else {
			delete(a.vars, n.Name)
		}
		e.cost = e.cost.add(v.cost)
		return e
	case *ast.SequenceNode:
		items, cost := a.all(n.Nodes)
		if len(items) == 0 {
			return lit(scalar, a.w.step)
		}
		last := items[len(items)-1]
		last.cost = cost
		return last
	case *ast.BinaryNode:
		return a.binary(n)
	case *ast.BuiltinNode:
		return a.builtin(n)
	case *ast.CallNode:
		name := "(computed)"
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			name = id.Value
		}
		return a.fail(true, "unknown function %s(): an expression sees the contact and expr's pure builtins only", name)
	case *ast.PredicateNode:
		return a.fail(true, "a predicate outside a builtin")
	}
	return a.fail(true, "unsupported syntax %T", n)
}

func (a *analysis) binary(n *ast.BinaryNode) shape {
	l, r := a.node(n.Left), a.node(n.Right)
	cost := l.cost.add(r.cost).add(konst(a.w.step))
	switch n.Operator {
	case "+":
		// A concatenation copies both sides (numbers cost as much).
		size := l.size.add(r.size)
		return shape{size: size, cost: cost.add(size.scale(a.w.make)), count: -1}
	case "..":
		if l.num == nil || r.num == nil {
			return a.fail(false, "a range needs integer literals (its length decides the cost)")
		}
		cnt := math.Max(0, float64(*r.num)-float64(*l.num)+1)
		return shape{size: konst(cnt * 8), cost: cost.add(konst(cnt * 8 * a.w.make)), count: cnt, elem: scalar}
	case "matches":
		if r.str == nil {
			return a.fail(false, "the pattern of matches must be a string literal (its program decides the cost)")
		}
		_, rc, err := CompileRegex(*r.str)
		if err != nil {
			if b, ok := err.(boundError); ok {
				return a.fail(false, "matches: %s", b.detail)
			}
			return a.fail(true, "matches: %v", err)
		}
		a.regexSize += rc.Size()
		scan := l.size.scale(a.w.regex * float64(rc.Cost()))
		return lit(scalar, 0).withCost(cost.add(scan))
	case "??":
		return shape{size: l.size.max(r.size), cost: cost, count: -1}
	case "==", "!=":
		return lit(scalar, 0).withCost(cost.add(a.reads(l.size.add(r.size), a.w.read+a.w.eq)))
	case "<", ">", "<=", ">=", "in", "contains", "startsWith", "endsWith":
		// A comparison or search reads both sides once.
		return lit(scalar, 0).withCost(cost.add(a.reads(l.size.add(r.size), a.w.read)))
	}
	return lit(scalar, 0).withCost(cost)
}

func (s shape) withCost(c sym) shape { s.cost = c; return s }

// reads prices reading a value of size x at w a byte of data; what does
// not grow with the data (literals, numbers) is plain bytes, compared by
// memcmp at most 1 ns a byte.
func (a *analysis) reads(x sym, w float64) sym {
	out := x.scale(w)
	out.k = x.k * min(w, 1)
	return out
}

// predicates are the builtins that loop over a collection with a body.
var predicates = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true,
	"count": true, "sum": true, "find": true, "findIndex": true, "findLast": true,
	"findLastIndex": true, "groupBy": true, "sortBy": true,
}

func (a *analysis) builtin(n *ast.BuiltinNode) shape {
	if predicates[n.Name] {
		return a.predicate(n)
	}
	args, cost := a.all(n.Arguments)
	arg := func(i int) shape {
		if i < len(args) {
			return args[i]
		}
		return lit(0, 0)
	}
	sizes := konst(0)
	for _, x := range args {
		sizes = sizes.add(x.size)
	}
	out := func(size sym) shape {
		return shape{size: size, cost: cost.add(size.scale(a.w.make)).add(a.reads(sizes, a.w.read)), count: -1}
	}
	switch n.Name {
	case "len", "type", "abs", "ceil", "floor", "round", "int", "float", "bitnot",
		"indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "max", "min", "mean", "duration":
		return out(konst(scalar))
	case "trim":
		if len(args) > 1 {
			// strings.Trim scans a non-ASCII cutset once per rune trimmed.
			return a.fail(true, "trim() with a cutset is not allowed in a segment (its cost grows with the product of the two); use trimPrefix or trimSuffix")
		}
		return out(sizes)
	case "trimPrefix", "trimSuffix", "first", "last", "get", "take":
		return out(sizes)
	case "reverse", "concat":
		// A new array: 16 bytes an element, appended without pre-sizing
		// (concat of 31 copies of 1 MB took 1.3 GB).
		return out(sizes.scale(2 * scalar))
	case "upper", "lower":
		return out(arg(0).size.scale(2)) // case mapping may lengthen UTF-8
	case "string":
		return out(arg(0).size.scale(6).add(konst(scalar))) // fmt's %v of a decoded value
	case "fromJSON":
		return out(arg(0).size.scale(48).add(konst(scalar))) // "[[[": a slice and an interface a byte
	case "toBase64", "fromBase64":
		return out(arg(0).size.scale(2).add(konst(scalar)))
	case "split", "splitAfter", "keys", "values", "toPairs", "fromPairs":
		return out(sizes.scale(float64(scalar) + 1))
	case "sort":
		return out(sizes).withCost(cost.add(sizes.scale(a.w.sort)))
	case "join":
		size, ok := mul(arg(0).size, arg(1).size.add(konst(1)))
		if !ok {
			return a.fail(false, "join: a separator that grows with the contact, times a list that does too")
		}
		return out(size.add(arg(0).size))
	case "replace":
		size, ok := mul(arg(0).size, arg(2).size.add(konst(1)))
		if !ok {
			return a.fail(false, "replace: a replacement that grows with the contact, in a string that does too")
		}
		return out(size)
	case "repeat":
		if len(args) < 2 || args[1].num == nil || *args[1].num < 0 {
			return a.fail(false, "repeat needs a non-negative integer literal count (it decides the cost)")
		}
		return out(arg(0).size.scale(float64(*args[1].num)))
	}
	// Not allowed: now, date and timezone read the clock or the file
	// system; reduce's accumulator can grow without bound; and expr's uniq
	// (quadratic), toJSON (indents by depth), flatten and median (copy the
	// leaves once per level of nesting) cost more than linear.
	return a.fail(true, "%s() is not allowed in a segment (it reaches outside the contact, or its cost cannot be bounded)", n.Name)
}

// predicate bounds a loop: the collection's elements each run the body.
func (a *analysis) predicate(n *ast.BuiltinNode) shape {
	if len(n.Arguments) == 0 {
		return a.fail(true, "%s() needs a collection", n.Name)
	}
	coll := a.node(n.Arguments[0])
	if a.err != nil {
		return coll
	}
	lv := len(a.loops) + 1
	data := coll.size.data(math.MaxInt)
	var elem shape
	if data {
		elem = shape{size: level(lv), count: -1}
	} else {
		e := coll.size.k
		if coll.count >= 0 {
			e = coll.elem
		}
		elem = shape{size: konst(e), count: -1}
	}
	body := lit(0, 0)
	var rest sym = konst(0)
	a.loops = append(a.loops, loop{elem: elem, level: lv})
	for _, arg := range n.Arguments[1:] {
		if p, ok := arg.(*ast.PredicateNode); ok {
			b := a.node(p.Node)
			body.cost = body.cost.add(b.cost)
			body.size = body.size.add(b.size)
		} else {
			rest = rest.add(a.node(arg).cost)
		}
	}
	a.loops = a.loops[:len(a.loops)-1]
	if a.err != nil {
		return body
	}
	per := body.cost.add(konst(a.w.iter))
	sizePer := body.size.add(konst(scalar))
	var total, produced sym
	if data {
		// Σ over the elements: what grows with an element sums to the
		// collection's size; the rest is paid per element, and must not
		// grow with the data around the loop (that would be quadratic).
		if per.data(lv) || sizePer.data(lv) {
			return a.fail(false, "%s(): a loop over the contact's data whose body reads data outside its element (the cost would grow with the square of the contact)", n.Name)
		}
		total = coll.size.scale(at(per.c, lv) + per.k)
		produced = coll.size.scale(at(sizePer.c, lv) + sizePer.k)
	} else {
		cnt := coll.count
		if cnt < 0 {
			cnt = coll.size.k
		}
		total = per.drop(lv).scale(cnt)
		produced = sizePer.drop(lv).scale(cnt)
	}
	cost := coll.cost.add(total).add(rest)
	switch n.Name {
	case "map", "groupBy":
		return shape{size: produced, cost: cost.add(produced), count: -1}
	case "filter":
		return shape{size: coll.size, cost: cost.add(coll.size), count: -1}
	case "sortBy":
		return shape{size: coll.size, cost: cost.add(coll.size.scale(a.w.sort)), count: -1}
	case "find", "findLast":
		return shape{size: elem.size.drop(lv).add(coll.size), cost: cost, count: -1}
	}
	return lit(scalar, 0).withCost(cost)
}
