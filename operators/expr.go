package operators

import (
	"encoding/json"
	"math"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// MaxExpr bounds an expression's source (bytes) and syntax tree (nodes).
const (
	MaxExpr      = 4096
	MaxExprNodes = 1000
)

// expr: an expr-lang expression returning bool, whose environment is the
// field's value (the whole contact for the field ""). It sees nothing
// else: the clock builtin is disabled. A non-bool result or a run-time
// error is false. Reading raw JSON, it decodes the field's value, so this
// is the one operator that allocates per evaluation.
var opExpr = &Operator{Name: "expr", Prepare: func(a *Arg) (Test, error) {
	var src string
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &src) != nil {
		return nil, a.Errorf("", "want an expression string")
	}
	if len(src) > MaxExpr {
		return nil, a.fail(tooComplexf("expression is %d bytes; at most %d", len(src), MaxExpr))
	}
	// The bound is decided on the syntax tree before compiling: the
	// compiler folds constants, and folding repeat("x", 1e9) is itself
	// the attack.
	k, perByte, regexSize, err := exprCost(src)
	if err != nil {
		return nil, a.fail(err)
	}
	prog, err := expr.Compile(src,
		expr.AllowUndefinedVariables(),
		expr.AsBool(),
		expr.DisableBuiltin("now"),
		expr.MaxNodes(MaxExprNodes),
	)
	if err != nil {
		return nil, a.Errorf("", "%v", err)
	}
	if name := unknownCall(prog); name != "" {
		return nil, a.Errorf("", "unknown function %s(): an expression sees the contact and expr's pure builtins only", name)
	}
	a.Cost = int(math.Ceil(perByte)) + ExprDecodeNsPerByte
	a.Size = 32*len(src) + int(k) + regexSize // bytecode, folded constants, patterns
	return func(v Value, _ Context) bool {
		if v.kind <= Null {
			return false // rule 4: a positive operator is false on a missing or null field
		}
		var env map[string]any
		if v.kind == Object {
			env, _ = v.Interface().(map[string]any)
		}
		m := vmPool.Get().(*vm.VM)
		out, err := m.Run(prog, env)
		vmPool.Put(m)
		b, ok := out.(bool)
		return err == nil && ok && b
	}, nil
}}

// unknownCall names a call to a function that is not one of expr's
// builtins (such as the disabled now()), or returns "".
func unknownCall(prog *vm.Program) string {
	root := prog.Node()
	v := &callFinder{}
	ast.Walk(&root, v)
	return v.name
}

type callFinder struct{ name string }

func (f *callFinder) Visit(n *ast.Node) {
	if c, ok := (*n).(*ast.CallNode); ok && f.name == "" {
		if id, ok := c.Callee.(*ast.IdentifierNode); ok {
			f.name = id.Value
		} else {
			f.name = "(computed)"
		}
	}
}

var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}
