package main

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/hashicorp/go-bexpr"

	"github.com/segmatch/segmatch/filter"
)

// go-bexpr: one evaluator per segment over the encoding/json map. bexpr
// fails the whole expression on a missing top-level key or a null value
// (no comparison function for it), so both are made one sentinel string
// no contact holds (WithUnknownValue for missing keys, a value hook for
// nulls): every comparison with it is then false and every != true, as
// SEMANTICS.md has them. bexpr has no ordering operators, so gt, gte,
// lt and lte are not expressible; is_set is only on string, array and
// boolean fields; values go in raw (backquoted) strings.

const bexprNull = "\u2400segmatch:null"

var bexprNullValue = reflect.ValueOf(bexprNull)

func bexprHook(v reflect.Value) reflect.Value {
	if v.Kind() == reflect.Interface && v.IsNil() {
		return bexprNullValue
	}
	return v
}

func bexprExpress(seg filter.Segment, sc Schema) error {
	f, err := lower(seg, sc)
	if err != nil {
		return err
	}
	for _, c := range f.conds {
		switch c.op {
		case opGt, opGte, opLt, opLte:
			return inexpressible("go-bexpr has no ordering")
		case opIsSet:
			if c.fk != kString && c.fk != kArray && c.fk != kBool {
				return inexpressible("is_set on a number field")
			}
		case opContains:
			if c.fk == kUnknown {
				return inexpressible("contains on a field never seen")
			}
		}
		for _, s := range append([]string{c.str}, c.list...) {
			if strings.ContainsAny(s, "`") || strings.Contains(s, bexprNull) {
				return inexpressible("a value with a backquote")
			}
		}
	}
	return nil
}

func bq(s string) string { return "`" + s + "`" }

func bexprLit(c *cond) string {
	switch c.vk {
	case kNumber:
		return bq(celLit(c))
	case kBool:
		return celLit(c)
	}
	return bq(c.str)
}

func bexprCond(c *cond) string {
	x := c.field
	switch c.op {
	case opIsSet:
		if c.fk == kBool {
			return x + " == true or " + x + " == false"
		}
		return bq(bexprNull) + " not in " + x
	case opEq:
		return x + " == " + bexprLit(c)
	case opNe:
		return x + " != " + bexprLit(c)
	case opIn:
		var or []string
		for _, s := range c.list {
			or = append(or, x+" == "+bq(s))
		}
		return strings.Join(or, " or ")
	case opContains:
		return bq(c.str) + " in " + x
	case opStarts:
		return x + " matches " + bq("^"+regexp.QuoteMeta(c.str))
	}
	return x + " matches " + bq(regexp.QuoteMeta(c.str)+"$")
}

func bexprSource(f flat) string {
	if len(f.conds) == 0 {
		return ""
	}
	join := " and "
	if f.any {
		join = " or "
	}
	parts := make([]string, len(f.conds))
	for i := range f.conds {
		parts[i] = "(" + bexprCond(&f.conds[i]) + ")"
	}
	return strings.Join(parts, join)
}

type bexprPeer struct {
	evs []*bexpr.Evaluator // nil: the empty segment, always true
}

func bexprBuild(segs []filter.Segment, sc Schema) (Peer, error) {
	p := &bexprPeer{}
	for i := range segs {
		f, err := lower(segs[i], sc)
		if err != nil {
			return nil, err
		}
		src := bexprSource(f)
		if src == "" {
			p.evs = append(p.evs, nil)
			continue
		}
		ev, err := bexpr.CreateEvaluator(src, bexpr.WithUnknownValue(bexprNull), bexpr.WithHookFn(bexprHook))
		if err != nil {
			return nil, err
		}
		p.evs = append(p.evs, ev)
	}
	return p, nil
}

func (p *bexprPeer) Raw(raw []byte, dst []bool) error {
	m, err := jsonDecode(raw)
	if err != nil {
		return err
	}
	p.Native(m, dst)
	return nil
}

func (p *bexprPeer) Decode(raw []byte) (any, error) { return jsonDecode(raw) }

func (p *bexprPeer) Native(x any, dst []bool) {
	for i, ev := range p.evs {
		if ev == nil {
			dst[i] = true
			continue
		}
		ok, err := ev.Evaluate(x)
		dst[i] = err == nil && ok
	}
}
