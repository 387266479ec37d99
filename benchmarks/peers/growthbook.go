package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	gb "github.com/growthbook/growthbook-golang"

	"github.com/segmatch/segmatch/filter"
)

// GrowthBook: one boolean feature per segment (default false, one rule
// forcing true under the segment's condition), evaluated by a child
// client that holds the contact as its attributes. Conditions are
// GrowthBook's MongoDB-like ones: $eq, $ne (true on missing or null, as
// our ne), $in, $gt…$lte (numbers with numbers only), $exists, $regex
// (QuoteMeta'd: contains, ^starts_with, ends_with$ on a string field)
// and $elemMatch (contains on an array field), under $and / $or.

func gbExpress(seg filter.Segment, sc Schema) error {
	f, err := lower(seg, sc)
	if err != nil {
		return err
	}
	for _, c := range f.conds {
		if c.op == opContains && c.fk == kUnknown {
			return inexpressible("contains on a field never seen")
		}
	}
	return nil
}

func gbValue(c *cond) any {
	switch c.vk {
	case kNumber:
		return c.num
	case kBool:
		return c.bl
	}
	return c.str
}

func gbCond(c *cond) map[string]any {
	var test any
	switch c.op {
	case opIsSet:
		test = map[string]any{"$exists": true}
	case opEq:
		test = map[string]any{"$eq": gbValue(c)}
	case opNe:
		test = map[string]any{"$ne": gbValue(c)}
	case opIn:
		test = map[string]any{"$in": c.list}
	case opGt:
		test = map[string]any{"$gt": c.num}
	case opGte:
		test = map[string]any{"$gte": c.num}
	case opLt:
		test = map[string]any{"$lt": c.num}
	case opLte:
		test = map[string]any{"$lte": c.num}
	case opContains:
		if c.fk == kArray {
			test = map[string]any{"$elemMatch": map[string]any{"$eq": c.str}}
		} else {
			test = map[string]any{"$regex": regexp.QuoteMeta(c.str)}
		}
	case opStarts:
		test = map[string]any{"$regex": "^" + regexp.QuoteMeta(c.str)}
	case opEnds:
		test = map[string]any{"$regex": regexp.QuoteMeta(c.str) + "$"}
	}
	return map[string]any{c.field: test}
}

// gbCondition is the condition of a flat segment.
func gbCondition(f flat) map[string]any {
	if len(f.conds) == 0 {
		return map[string]any{}
	}
	parts := make([]any, len(f.conds))
	for i := range f.conds {
		parts[i] = gbCond(&f.conds[i])
	}
	if f.any {
		return map[string]any{"$or": parts}
	}
	return map[string]any{"$and": parts}
}

type gbPeer struct {
	client *gb.Client
	keys   []string
	ctx    context.Context
}

func gbBuild(segs []filter.Segment, sc Schema) (Peer, error) {
	features := map[string]any{}
	p := &gbPeer{ctx: context.Background()}
	for i := range segs {
		f, err := lower(segs[i], sc)
		if err != nil {
			return nil, err
		}
		key := fmt.Sprintf("seg-%d", i)
		p.keys = append(p.keys, key)
		features[key] = map[string]any{"defaultValue": false,
			"rules": []any{map[string]any{"condition": gbCondition(f), "force": true}}}
	}
	js, err := json.Marshal(features)
	if err != nil {
		return nil, err
	}
	p.client, err = gb.NewClient(p.ctx, gb.WithJsonFeatures(string(js)))
	if err != nil {
		return nil, err
	}
	if n := len(p.client.Features()); n != len(segs) {
		return nil, fmt.Errorf("growthbook: %d features loaded of %d", n, len(segs))
	}
	return p, nil
}

func (p *gbPeer) Raw(raw []byte, dst []bool) error {
	x, err := p.Decode(raw)
	if err != nil {
		return err
	}
	p.Native(x, dst)
	return nil
}

// Decode is the child client holding the contact (decoded by
// encoding/json) as its attributes.
func (p *gbPeer) Decode(raw []byte) (any, error) {
	m, err := jsonDecode(raw)
	if err != nil {
		return nil, err
	}
	return p.client.WithAttributes(gb.Attributes(m))
}

func (p *gbPeer) Native(x any, dst []bool) {
	c := x.(*gb.Client)
	for i, key := range p.keys {
		dst[i] = c.EvalFeature(p.ctx, key).On
	}
}
