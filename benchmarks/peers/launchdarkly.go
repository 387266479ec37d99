package main

import (
	"errors"
	"fmt"

	"github.com/launchdarkly/go-sdk-common/v3/ldattr"
	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	ldeval "github.com/launchdarkly/go-server-sdk-evaluation/v3"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldbuilders"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"

	"github.com/segmatch/segmatch/filter"
)

// LaunchDarkly's evaluator: one boolean flag per segment, its rules
// made of clauses. A clause is false on a missing or null attribute
// whether negated or not, and an array attribute matches when any
// element does: exactly SEMANTICS.md's positive operators (eq, in, gt…,
// starts_with, ends_with, is_set as a negated "in" of a value no contact
// holds; contains as LaunchDarkly's substring "contains" on a string
// field and as "in" on an array field). A negative operator (ne) is the
// complement of its positive twin Q, which no one clause is (it must be
// true on a missing field), so a flag is a decision list:
//
//	all: one rule "Q → false" per negative condition, then one rule
//	     "all positive clauses → true", else false (true when no positive)
//	any: one rule "P → true" per positive condition, then one rule
//	     "all the Qs → false", else true (false when no negative)

const ldSentinel = "\x00segmatch: no contact holds this value"

// ldReserved are context attributes that are not plain attributes.
var ldReserved = map[string]bool{"kind": true, "key": true, "name": true, "anonymous": true, "_meta": true, "privateAttributes": true}

func ldExpress(seg filter.Segment, sc Schema) error {
	f, err := lower(seg, sc)
	if err != nil {
		return err
	}
	for _, c := range f.conds {
		if ldReserved[c.path[0]] {
			return inexpressible("reserved context attribute %s", c.path[0])
		}
		if c.op == opContains && c.fk == kUnknown {
			return inexpressible("contains on a field never seen")
		}
	}
	return nil
}

func ldValue(c *cond) ldvalue.Value {
	switch c.vk {
	case kNumber:
		return ldvalue.Float64(c.num)
	case kBool:
		return ldvalue.Bool(c.bl)
	}
	return ldvalue.String(c.str)
}

// ldClause is the positive clause of c (for ne: of eq), and whether c is
// its negation.
func ldClause(c *cond) (ldmodel.Clause, bool) {
	ref := ldattr.NewRef("/" + joinPath(c.path))
	switch c.op {
	case opIsSet:
		return ldbuilders.Negate(ldbuilders.ClauseRef(ref, ldmodel.OperatorIn, ldvalue.String(ldSentinel))), false
	case opEq:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorIn, ldValue(c)), false
	case opNe:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorIn, ldValue(c)), true
	case opIn:
		vs := make([]ldvalue.Value, len(c.list))
		for i, s := range c.list {
			vs[i] = ldvalue.String(s)
		}
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorIn, vs...), false
	case opGt:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorGreaterThan, ldValue(c)), false
	case opGte:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorGreaterThanOrEqual, ldValue(c)), false
	case opLt:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorLessThan, ldValue(c)), false
	case opLte:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorLessThanOrEqual, ldValue(c)), false
	case opContains:
		if c.fk == kArray {
			return ldbuilders.ClauseRef(ref, ldmodel.OperatorIn, ldValue(c)), false
		}
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorContains, ldValue(c)), false
	case opStarts:
		return ldbuilders.ClauseRef(ref, ldmodel.OperatorStartsWith, ldValue(c)), false
	}
	return ldbuilders.ClauseRef(ref, ldmodel.OperatorEndsWith, ldValue(c)), false
}

func joinPath(p []string) string {
	s := p[0]
	for _, k := range p[1:] {
		s += "/" + k
	}
	return s
}

// ldFlag is the flag of one flat segment.
func ldFlag(key string, f flat) ldmodel.FeatureFlag {
	var pos, neg []ldmodel.Clause
	for i := range f.conds {
		cl, negated := ldClause(&f.conds[i])
		if negated {
			neg = append(neg, cl)
		} else {
			pos = append(pos, cl)
		}
	}
	const no, yes = 0, 1
	b := ldbuilders.NewFlagBuilder(key).On(true).Variations(ldvalue.Bool(false), ldvalue.Bool(true)).OffVariation(no)
	rule := func(v int, cls ...ldmodel.Clause) {
		b.AddRule(ldbuilders.NewRuleBuilder().ID(fmt.Sprintf("r%d", len(pos)+len(neg))).Variation(v).Clauses(cls...))
	}
	switch {
	case len(f.conds) == 0:
		b.FallthroughVariation(yes)
	case !f.any:
		for _, q := range neg {
			rule(no, q)
		}
		if len(pos) > 0 {
			rule(yes, pos...)
			b.FallthroughVariation(no)
		} else {
			b.FallthroughVariation(yes)
		}
	default:
		for _, p := range pos {
			rule(yes, p)
		}
		if len(neg) > 0 {
			rule(no, neg...)
			b.FallthroughVariation(yes)
		} else {
			b.FallthroughVariation(no)
		}
	}
	return b.Build()
}

type ldNoData struct{}

func (ldNoData) GetFeatureFlag(string) *ldmodel.FeatureFlag { return nil }
func (ldNoData) GetSegment(string) *ldmodel.Segment         { return nil }

type ldPeer struct {
	flags []ldmodel.FeatureFlag
	ev    ldeval.Evaluator
	keys  []string
}

func ldBuild(segs []filter.Segment, sc Schema) (Peer, error) {
	p := &ldPeer{ev: ldeval.NewEvaluator(ldNoData{})}
	for i := range segs {
		f, err := lower(segs[i], sc)
		if err != nil {
			return nil, err
		}
		p.flags = append(p.flags, ldFlag(fmt.Sprintf("seg-%d", i), f))
	}
	return p, nil
}

var errLDContact = errors.New("launchdarkly: the contact is not a JSON object")

// ldContext is the contact as a context of kind "user": its key the
// contact's _id, every top-level member an attribute (null ones are
// absent, as LaunchDarkly has them).
func ldContext(v ldvalue.Value, keys []string) (ldcontext.Context, []string, error) {
	if v.Type() != ldvalue.ObjectType {
		return ldcontext.Context{}, keys, errLDContact
	}
	key := v.GetByKey("_id").StringValue()
	if key == "" {
		key = "contact"
	}
	b := ldcontext.NewBuilderWithCapacity(key, v.Count())
	keys = v.Keys(keys[:0])
	for _, k := range keys {
		if !ldReserved[k] {
			b.SetValue(k, v.GetByKey(k))
		}
	}
	ctx, err := b.TryBuild()
	return ctx, keys, err
}

func (p *ldPeer) Raw(raw []byte, dst []bool) error {
	var v ldvalue.Value
	if err := v.UnmarshalJSON(raw); err != nil {
		return err
	}
	ctx, keys, err := ldContext(v, p.keys)
	p.keys = keys
	if err != nil {
		return err
	}
	p.Native(ctx, dst)
	return nil
}

func (p *ldPeer) Decode(raw []byte) (any, error) {
	var v ldvalue.Value
	if err := v.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	ctx, _, err := ldContext(v, nil)
	return ctx, err
}

func (p *ldPeer) Native(x any, dst []bool) {
	ctx := x.(ldcontext.Context)
	for i := range p.flags {
		r := p.ev.Evaluate(&p.flags[i], ctx, nil)
		dst[i] = r.Detail.Value.BoolValue()
	}
}
