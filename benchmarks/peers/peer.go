package main

import (
	"encoding/json"
	"fmt"

	"github.com/bytedance/sonic"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// Peer answers, for one contact, the segments it was built for (dst has
// one slot per segment, in order). It is used by one goroutine.
type Peer interface {
	// Raw classifies a raw JSON contact: the peer pays its own decode.
	Raw(raw []byte, dst []bool) error
	// Decode turns a raw contact into the peer's native form (a map, an
	// ldcontext.Context, a CEL activation, a GrowthBook child client):
	// what an embedder that already holds contacts in that form has.
	// Nil for a peer with no pre-decoded entry (the floors).
	Decode(raw []byte) (any, error)
	// Native classifies a contact in the form Decode made.
	Native(x any, dst []bool)
}

// Kind is one peer engine: whether it can express a segment exactly,
// and how to build it for the segments it can.
type Kind struct {
	Name string
	// Express is nil when the peer expresses seg exactly (per
	// SEMANTICS.md, on contacts of the schema's types), else the reason.
	Express func(seg filter.Segment, sc Schema) error
	Build   func(segs []filter.Segment, sc Schema) (Peer, error)
	Floor   bool // validate-only: answers no segment, is not checked
}

// Names of the peers, in report order.
const (
	Engine       = "engine"
	ClosuresJSON = "closures (encoding/json)"
	ClosuresSon  = "closures (sonic)"
	CEL          = "cel-go"
	CELAll       = "cel-go (one program)"
	Expr         = "expr-lang"
	LD           = "launchdarkly"
	GrowthBook   = "growthbook"
	Bexpr        = "go-bexpr"
	SonicValid   = "sonic.Valid"
)

// Kinds lists every peer and floor, in report order.
func Kinds() []Kind {
	return []Kind{
		{Name: ClosuresJSON, Express: closuresExpress, Build: closuresBuild(jsonDecode)},
		{Name: ClosuresSon, Express: closuresExpress, Build: closuresBuild(sonicDecode)},
		{Name: CEL, Express: celExpress, Build: celBuild(false)},
		{Name: CELAll, Express: celExpress, Build: celBuild(true)},
		{Name: Expr, Express: exprExpress, Build: exprBuild},
		{Name: LD, Express: ldExpress, Build: ldBuild},
		{Name: GrowthBook, Express: gbExpress, Build: gbBuild},
		{Name: Bexpr, Express: bexprExpress, Build: bexprBuild},
		{Name: SonicValid, Floor: true, Build: floorBuild(SonicValid, sonic.Valid)},
		{Name: benchmarks.JSONValid, Floor: true, Build: floorBuild(benchmarks.JSONValid, json.Valid)},
		{Name: benchmarks.RawValid, Floor: true, Build: harnessFloor(benchmarks.RawValid)},
	}
}

func jsonDecode(raw []byte) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(raw, &m)
	return m, err
}

func sonicDecode(raw []byte) (map[string]any, error) {
	var m map[string]any
	err := sonic.Unmarshal(raw, &m)
	return m, err
}

// ---- the engine: the reference ----

type enginePeer struct {
	eng *engine.Engine
	res *engine.Result
}

// NewEngine is the engine as a peer: ClassifyJSONInto on raw contacts,
// ClassifyMapInto on maps decoded by encoding/json.
func NewEngine(segs []filter.Segment) (Peer, error) {
	eng, err := engine.New(segs)
	if err != nil {
		return nil, err
	}
	return &enginePeer{eng: eng, res: eng.NewResult()}, nil
}

func (e *enginePeer) Raw(raw []byte, dst []bool) error {
	if err := e.eng.ClassifyJSONInto(raw, e.res); err != nil {
		return err
	}
	copy(dst, e.res.Matches)
	return nil
}

func (e *enginePeer) Decode(raw []byte) (any, error) { return jsonDecode(raw) }

func (e *enginePeer) Native(x any, dst []bool) {
	e.eng.ClassifyMapInto(x.(map[string]any), e.res)
	copy(dst, e.res.Matches)
}

// ---- closures over decoded maps (benchmarks.NewClosures) ----

// closuresExpress: what benchmarks.NewClosures takes (it handles
// groups, negate, fan-out and numeric strings), less ignore_case, which
// it would ignore.
func closuresExpress(seg filter.Segment, sc Schema) error {
	if ignoresCase(seg.Filters) {
		return inexpressible("ignore_case")
	}
	if _, err := benchmarks.NewClosures([]filter.Segment{canonical(seg)}); err != nil {
		return fmt.Errorf("%w: %v", errInexpressible, err)
	}
	return nil
}

func ignoresCase(fs []filter.Filter) bool {
	for i := range fs {
		if fs[i].IgnoreCase || ignoresCase(fs[i].Filters) {
			return true
		}
	}
	return false
}

type closuresPeer struct {
	cl     benchmarks.MapBackend
	decode func([]byte) (map[string]any, error)
}

func closuresBuild(decode func([]byte) (map[string]any, error)) func([]filter.Segment, Schema) (Peer, error) {
	return func(segs []filter.Segment, _ Schema) (Peer, error) {
		cs := make([]filter.Segment, len(segs))
		for i := range segs {
			cs[i] = canonical(segs[i])
		}
		cl, err := benchmarks.NewClosures(cs)
		if err != nil {
			return nil, err
		}
		return &closuresPeer{cl: cl, decode: decode}, nil
	}
}

func (c *closuresPeer) Raw(raw []byte, dst []bool) error {
	m, err := c.decode(raw)
	if err != nil {
		return err
	}
	c.cl.ClassifyMap(m, dst)
	return nil
}

func (c *closuresPeer) Decode(raw []byte) (any, error) { return c.decode(raw) }
func (c *closuresPeer) Native(x any, dst []bool)       { c.cl.ClassifyMap(x.(map[string]any), dst) }

// ---- validate-only floors ----

type floorPeer struct{ b benchmarks.Backend }

func floorBuild(name string, valid func([]byte) bool) func([]filter.Segment, Schema) (Peer, error) {
	return func([]filter.Segment, Schema) (Peer, error) {
		return floorPeer{benchmarks.NewFloor(name, valid)}, nil
	}
}

func harnessFloor(name string) func([]filter.Segment, Schema) (Peer, error) {
	return func(segs []filter.Segment, _ Schema) (Peer, error) {
		b, err := benchmarks.New(name, segs)
		if err != nil {
			return nil, err
		}
		return floorPeer{b}, nil
	}
}

func (f floorPeer) Raw(raw []byte, dst []bool) error { return f.b.Classify(raw, dst) }
func (f floorPeer) Decode([]byte) (any, error)       { return nil, nil }
func (f floorPeer) Native(any, []bool)               {}
