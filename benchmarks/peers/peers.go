// Package peers measures the engine against validators that live outside
// the library's dependencies: bytedance/sonic's SIMD validator (sonic.Valid)
// beside encoding/json.Valid and rawjson's own, all validate-only floors
// of the benchmarks harness. It is a module of its own so that the
// library never depends on sonic.
//
//	cd benchmarks/peers
//	go test -count 1 -run 'TestFloor$' -v .   # interleaved batches, one process: the engine / floor ratios
//	go test -run '^$' -bench . .       # the same backends as Go benchmarks
package peers

import (
	"github.com/bytedance/sonic"

	"github.com/segmatch/segmatch/benchmarks"
)

// SonicValid is the name of the sonic.Valid floor.
const SonicValid = "sonic.Valid"

// Backends are the engine (engine.New + ClassifyJSONInto) for segs and
// every validate-only floor: sonic.Valid, then the harness's own
// (benchmarks.Floors).
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
