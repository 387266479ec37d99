package main

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
)

// expr-lang: the harness's translation (benchmarks.ExprSource), one
// program per segment, run on an encoding/json map with a reused VM.

func exprExpress(seg filter.Segment, sc Schema) error {
	if _, err := lower(seg, sc); err != nil {
		return err
	}
	if _, err := benchmarks.ExprSource(canonical(seg)); err != nil {
		return fmt.Errorf("%w: %v", errInexpressible, err)
	}
	return nil
}

type exprPeer struct {
	progs []*vm.Program
	vm    vm.VM
}

func exprBuild(segs []filter.Segment, _ Schema) (Peer, error) {
	p := &exprPeer{}
	for i := range segs {
		src, err := benchmarks.ExprSource(canonical(segs[i]))
		if err != nil {
			return nil, err
		}
		prog, err := expr.Compile(src, expr.AllowUndefinedVariables(), expr.AsBool())
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w\n%s", segs[i].ID, err, src)
		}
		p.progs = append(p.progs, prog)
	}
	return p, nil
}

func (p *exprPeer) Raw(raw []byte, dst []bool) error {
	m, err := jsonDecode(raw)
	if err != nil {
		return err
	}
	p.Native(m, dst)
	return nil
}

func (p *exprPeer) Decode(raw []byte) (any, error) { return jsonDecode(raw) }

func (p *exprPeer) Native(x any, dst []bool) {
	m := x.(map[string]any)
	for i, prog := range p.progs {
		out, err := p.vm.Run(prog, m)
		dst[i] = err == nil && out == true
	}
}
