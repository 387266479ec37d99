// Command peers measures the engine against the ecosystem (issue 20):
// every peer engine a Go programmer could put in its place, each given a
// translation of the same generated segments, checked pair by pair
// against the engine before anything is timed, then timed side by side
// in interleaved rounds, raw JSON in and pre-decoded, over a sweep of
// segment counts. It is a module of its own so that the library never
// depends on cel-go, LaunchDarkly, GrowthBook, go-bexpr or sonic.
//
//	cd benchmarks/peers
//	go run . --out /tmp/peers                    # 10, 100, 1,000, 10,000 segments: report.md, throughput.svg, native.svg
//	go run . --segments 10,100 --rounds 5 --contacts 100 --out /tmp/peers   # a short run
//	go test -count 1 -run TestAgreement -v .     # the agreement check CI runs (.ci/peers)
//	go test -count 1 -run 'TestFloor$' -v .      # the engine / validate-only floors, interleaved
//	go test -run '^$' -bench . .                 # the floors as Go benchmarks
//
// The peers (peer.go, one file per engine):
//
//	closures (encoding/json)  benchmarks.NewClosures over an encoding/json map
//	closures (sonic)          the same over a map decoded by bytedance/sonic
//	cel-go                    one CEL program per segment over c, a map(string, dyn)
//	cel-go (one program)      one CEL program returning the list of every segment's boolean
//	expr-lang                 benchmarks.ExprSource, one program per segment, a reused VM
//	launchdarkly              one flag per segment (rules of clauses) in go-server-sdk-evaluation
//	growthbook                one feature per segment, a MongoDB-like condition
//	go-bexpr                  one evaluator per segment
//
// and the validate-only floors sonic.Valid, encoding/json.Valid and
// rawjson.Valid (ours), raw JSON in only.
//
// What "expresses exactly" means: the translators (ir.go's lower, then
// one per peer) take the generated workload's operators, match all or
// any, plain dotted paths, no nested groups, negate or ignore_case, and
// rely on a Schema read from the contacts: each field holds one JSON
// type or is missing or null (no numeric strings, no fan-out where the
// field is a scalar). On such contacts each translation gives
// SEMANTICS.md's answer, missing and null included (ne is true on
// both; a positive operator false); the agreement check (Check, and
// TestAgreement / TestEdgeAgreement in CI) confirms it on every pair
// before anything is timed. A segment outside a translator's reach is
// counted with its reason and never timed for that peer; a peer that
// answers any pair differently is reported and not timed.
package main

import (
	"github.com/bytedance/sonic"

	"github.com/segmatch/segmatch/benchmarks"
)

// Backends are the engine (engine.New + ClassifyJSONInto) for segs and
// every validate-only floor: sonic.Valid, then the harness's own
// (benchmarks.Floors). TestFloor times them.
func Backends(w *benchmarks.Workload) ([]benchmarks.Backend, error) {
	eng, err := benchmarks.NewEngine(w.Segments)
	if err != nil {
		return nil, err
	}
	bs := []benchmarks.Backend{eng, benchmarks.NewFloor(SonicValid, sonic.Valid)}
	for _, name := range benchmarks.Floors {
		b, err := benchmarks.New(name, w.Segments)
		if err != nil {
			return nil, err
		}
		bs = append(bs, b)
	}
	return bs, nil
}
