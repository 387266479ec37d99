package audience_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/engine"
)

// BenchmarkUpsertSmall is BenchmarkUpsert's replaced mode (another
// contact under each id: ~16 events an upsert) on an index of 2,000
// contacts, with ClassifyJSONInto of the same contacts: small enough to
// build under callgrind in seconds, where BenchmarkUpsert's 100,000 take
// many minutes on a loaded machine. Instructions an upsert costs beyond
// its classification hardly depend on the index's size; its cache misses
// do, which only the wall-time runs show.
//
//	go test -c -o audience.test ./audience/
//	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
//	  --dump-before='*BenchmarkUpsertSmall.func3' --dump-after='*BenchmarkUpsertSmall.func3' \
//	  --dump-before='*BenchmarkUpsertSmall.func4' --dump-after='*BenchmarkUpsertSmall.func4' \
//	  ./audience.test -test.run '^$' -test.bench '^BenchmarkUpsertSmall$' -test.benchtime 2000x -test.cpu 1
//	callgrind_annotate --tree=calling --inclusive=yes callgrind.out.*.4 | grep -A4 'Index).upsert'
//
// (func3 is the Upsert loop, func4 the ClassifyJSONInto one: dump .4 is
// the 2,000 upserts, .6 the 2,000 classifications.)
func BenchmarkUpsertSmall(b *testing.B) {
	cfg := benchmarks.DefaultConfig
	segs := benchmarks.GenerateSegments(cfg)
	now := func() time.Time { return upsertClock }
	eng, err := engine.New(segs, segmatch.WithNow(now))
	if err != nil {
		b.Fatal(err)
	}
	gen := benchmarks.NewContactGen(cfg)
	const k = 2000
	contact := func(i int) []byte {
		raw := gen.Next(nil)
		copy(raw[len(`{"_id":"`):], fmt.Sprintf("c%023d", i))
		return raw
	}
	var seq [][]byte
	for i := range k {
		seq = append(seq, contact(i))
	}
	for i := range k {
		seq = append(seq, contact(i))
	}
	ix := audience.New(audience.Options{Now: now})
	if _, err := ix.SetSegments(segs); err != nil {
		b.Fatal(err)
	}
	for _, raw := range seq[:k] {
		if _, err := ix.Upsert(raw); err != nil {
			b.Fatal(err)
		}
	}
	res := eng.NewResult()
	j := k
	b.Run("Upsert", func(b *testing.B) {
		for b.Loop() {
			if _, err := ix.Upsert(seq[j]); err != nil {
				b.Fatal(err)
			}
			j = (j + 1) % len(seq)
		}
	})
	i := k // the same contacts as the upserts
	b.Run("ClassifyJSONInto", func(b *testing.B) {
		for b.Loop() {
			if err := eng.ClassifyJSONInto(seq[i], res); err != nil {
				b.Fatal(err)
			}
			i = (i + 1) % len(seq)
		}
	})
}
