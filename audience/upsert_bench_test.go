package audience_test

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// Issue 15's targets, on issue 4's workload (benchmarks.DefaultConfig:
// 200 segments of 3 to 5 conditions, ~1 KB contacts) and an index of
// 100,000 contacts:
//
//   - a contact upsert with 200 registered segments costs at most 1.5x
//     engine.ClassifyJSONInto of the same contact (BenchmarkUpsert);
//   - registering one more segment (SetSegments with 201) costs less than
//     classifying every contact again with the 201 segments
//     (BenchmarkBackfill).
//
// Both time the two sides interleaved, in alternating batches, and log
// the median of the per-batch ratios with its 10th-90th percentiles: on a
// shared machine whatever load comes and goes falls on both alike.
//
// An upsert defers the upkeep of the member bitmaps and of the field
// index's paths to the next read that needs them (the package doc): the
// interleaved runs catch up, untimed in the ratio, every upsertCatchUp
// upserts, and report that time per contact apart (deferred-ns/contact,
// logged as "upsert + catch-up"); BenchmarkQueryUpkeep has the field
// index's catch-up alone, for 0, 3 and 16 indexed paths.
//
//	go test -run '^$' -bench 'Upsert/.*/interleaved|Backfill' -benchtime 3s ./audience/
//	go test -run '^$' -bench 'Upsert/replaced/Upsert$' -benchtime 5s -cpuprofile cpu.out ./audience/
//	go tool pprof -top -cum -focus 'BenchmarkUpsert\.func' audience.test cpu.out

const (
	upsertContacts = 100_000
	// Each mode of BenchmarkUpsert cycles over its own upsertPerMode of
	// them: the first for replaced, the next for edited, the last for same.
	upsertPerMode = 30_000
)

// upsertCycle is the contacts one mode of BenchmarkUpsert upserts, in
// turn: for contacts base to base+k-1 of the index, k new versions then
// the k originals (k originals alone for same), so that each upsert of a
// changing mode replaces the version the index holds by the other one.
type upsertCycle struct {
	name    string
	base, k int
	seq     [][]byte
	next    int // seq's next position: it keeps alternating across runs
}

// upsertBench is the index the benchmarks share (building it takes a
// few seconds): upsertContacts contacts with ids "c00000000000000000000000"
// and up, the 200 segments registered.
type upsertBench struct {
	segs    []filter.Segment // the 201 segments of the workload: 200 registered, then the one to backfill
	ix      *audience.Index
	eng     *engine.Engine // the 200 segments, at the index's clock
	orig    [][]byte       // the contacts as loaded
	held    [][]byte       // what the index holds, by contact
	cycles  []*upsertCycle
	indexed bool // indexFields ran
	paths   int  // the paths it indexed
}

var upsertClock = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// upsertEditedKeys are the top-level fields an edited contact has changed, one
// a contact in turn: fields of the workload's pool that segments read.
var upsertEditedKeys = []string{"country", "tags", "email", "city", "lead_id"}

var upsertOnce = sync.OnceValues(func() (*upsertBench, error) {
	cfg := benchmarks.DefaultConfig
	cfg.Segments = 201
	f := &upsertBench{segs: benchmarks.GenerateSegments(cfg)}
	now := func() time.Time { return upsertClock }
	var err error
	if f.eng, err = engine.New(f.segs[:200], segmatch.WithNow(now)); err != nil {
		return nil, err
	}
	gen := benchmarks.NewContactGen(cfg)
	contact := func(i int) []byte {
		raw := gen.Next(nil)
		// The generator starts each contact with {"_id":"<24 hex digits>":
		// give it a known id instead.
		const pre = `{"_id":"`
		if string(raw[:len(pre)]) != pre || raw[len(pre)+24] != '"' {
			panic(fmt.Sprintf("benchmarks.ContactGen: unexpected contact start %.40s", raw))
		}
		copy(raw[len(pre):], fmt.Sprintf("c%023d", i))
		return raw
	}
	for i := range upsertContacts {
		f.orig = append(f.orig, contact(i))
	}
	f.held = slices.Clone(f.orig)

	// replaced: another contact altogether under the id (the worst case:
	// about 16 segments entered or left an upsert).
	replaced := &upsertCycle{name: "replaced", base: 0, k: upsertPerMode}
	for i := range upsertPerMode {
		replaced.seq = append(replaced.seq, contact(replaced.base+i))
	}
	// edited: one field changed, its value taken from another contact.
	edited := &upsertCycle{name: "edited", base: upsertPerMode, k: upsertPerMode}
	for i := range upsertPerMode {
		var c, other map[string]any
		if err := json.Unmarshal(f.orig[edited.base+i], &c); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(contact(edited.base+i), &other); err != nil {
			return nil, err
		}
		k := upsertEditedKeys[i%len(upsertEditedKeys)]
		if v, ok := other[k]; ok {
			c[k] = v
		} else {
			delete(c, k)
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		edited.seq = append(edited.seq, raw)
	}
	// same: the content the index holds (no segment entered or left).
	same := &upsertCycle{name: "same", base: 2 * upsertPerMode, k: upsertPerMode, seq: f.orig[2*upsertPerMode : 3*upsertPerMode]}
	for _, c := range []*upsertCycle{replaced, edited} {
		c.seq = append(c.seq, f.orig[c.base:c.base+c.k]...)
	}
	f.cycles = []*upsertCycle{replaced, edited, same}

	f.ix = audience.New(audience.Options{Now: now})
	if _, err := f.ix.SetSegments(f.segs[:200]); err != nil {
		return nil, err
	}
	for _, raw := range f.orig {
		if _, err := f.ix.Upsert(raw); err != nil {
			return nil, err
		}
	}
	// The index and the engine agree: both sides do the same work.
	counts := make([]int, 200)
	res := f.eng.NewResult()
	for _, raw := range f.orig {
		if err := f.eng.ClassifyJSONInto(raw, res); err != nil {
			return nil, err
		}
		for i, m := range res.Matches {
			if m {
				counts[i]++
			}
		}
	}
	for i, k := range f.ix.Segments() {
		if n, _ := f.ix.Count(k); n != counts[i] {
			return nil, fmt.Errorf("segment %s: the index holds %d members, the engine classifies %d", k, n, counts[i])
		}
	}
	return f, nil
})

func upsertFixture(b *testing.B) *upsertBench {
	b.Helper()
	f, err := upsertOnce()
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// pick appends c's next n contacts to dst[:0], to be upserted.
func (f *upsertBench) pick(c *upsertCycle, dst [][]byte, n int) [][]byte {
	dst = dst[:0]
	for range n {
		raw := c.seq[c.next]
		dst = append(dst, raw)
		f.held[c.base+c.next%c.k] = raw
		c.next = (c.next + 1) % len(c.seq)
	}
	return dst
}

// reset puts c's originals back (which versions the index holds is not
// known after a MeasureInterleaved run, which picks the contacts itself)
// and starts c again.
func (f *upsertBench) reset(b *testing.B, c *upsertCycle) {
	b.Helper()
	for i := c.base; i < c.base+c.k; i++ {
		if _, err := f.ix.Upsert(f.orig[i]); err != nil {
			b.Fatal(err)
		}
		f.held[i] = f.orig[i]
	}
	c.next = 0
}

// upsertBackend is a benchmarks.Backend of one call.
type upsertBackend struct {
	name string
	fn   func(raw []byte) error
}

func (bb upsertBackend) Name() string                        { return bb.name }
func (bb upsertBackend) Classify(raw []byte, _ []bool) error { return bb.fn(raw) }

// upsertCPUDuration is how long an interleaved-cpu measurement takes:
// SEGMATCH_UPSERT_DURATION, default 5s.
func upsertCPUDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SEGMATCH_UPSERT_DURATION")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// upsertRatios is the median and the 10th and 90th percentiles of a[i]/b[i].
func upsertRatios(a, b []float64) (med, lo, hi float64) {
	rs := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			rs = append(rs, a[i]/b[i])
		}
	}
	if len(rs) == 0 {
		return 0, 0, 0
	}
	slices.Sort(rs)
	return rs[len(rs)/2], rs[len(rs)/10], rs[len(rs)*9/10]
}

func upsertMean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// upsertBatch is how many contacts one side of an interleaved cycle
// takes: about 1 ms, long against the clock's cost, short against the
// load changes of a shared machine.
const upsertBatch = 64

// BenchmarkUpsert: Upsert of a contact replacing an existing one against
// ClassifyJSONInto of the same contact by an engine of the same 200
// segments. Three modes, each cycling over contacts of its own:
// replaced (another contact altogether under the id: ~16 segments entered
// or left an upsert, the worst case), edited (one field of the contact
// changed) and same (the content the index holds: no event).
//
// interleaved is the figure of the target: each iteration upserts
// upsertBatch contacts and classifies the same ones (which goes first
// alternates; each reads a fresh copy of the batch, in the cache as a
// contact just received), each batch timed in wall time, GC included; it
// reports both costs per contact, the median ratio of the batches, and
// Upsert's allocations and events.
//
// interleaved-cpu is the same comparison by benchmarks.MeasureInterleaved:
// batches of about 5 ms each, timed in the thread's CPU time, steadier on
// a shared machine but blind to the garbage collector's background work
// (Upsert allocates; ClassifyJSONInto does not), on contacts not in the
// cache.
//
// Upsert and ClassifyJSONInto alone are there to profile either side.
func BenchmarkUpsert(b *testing.B) { upsertModes(b, upsertFixture(b)) }

// BenchmarkUpsertIndexed is BenchmarkUpsert once a query has read every
// field the segments read: the field index keeps those fields' values
// current on every upsert from then on. (It runs after BenchmarkUpsert,
// and the fields stay indexed for the benchmarks after it.)
func BenchmarkUpsertIndexed(b *testing.B) {
	f := upsertFixture(b)
	b.StopTimer()
	f.indexFields(b)
	b.StartTimer()
	upsertModes(b, f)
}

// indexFields asks the index an ad-hoc segment with a condition on every
// field a registered segment reads.
func (f *upsertBench) indexFields(b *testing.B) {
	b.Helper()
	if f.indexed {
		return
	}
	seen := map[string]bool{}
	q := filter.Segment{Match: filter.Any}
	var walk func([]filter.Filter)
	walk = func(fs []filter.Filter) {
		for _, c := range fs {
			if c.IsGroup() {
				walk(c.Filters)
				continue
			}
			if !seen[c.Field] {
				seen[c.Field] = true
				q.Filters = append(q.Filters, c)
			}
		}
	}
	for _, s := range f.segs[:200] {
		walk(s.Filters)
	}
	start := time.Now()
	if _, err := f.ix.Query(q); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed %d fields in %v", len(q.Filters), time.Since(start).Round(time.Millisecond))
	f.indexed = true
	f.paths = f.ix.Stats().IndexedPaths
}

// catchUp runs a query that reads no field and counts a segment's
// members: it brings the field index's paths and the member bitmaps up to
// date with the upserts before it (the upkeep an upsert defers) and
// indexes nothing. The benchmarks run one before each measurement and
// every upsertCatchUp upserts, so that the paths stay indexed (too many
// contacts changed between two queries and the index drops them) as they
// are between the reads of an index in use; upsertInterleaved times it
// apart (deferred-ns/contact).
func (f *upsertBench) catchUp(b *testing.B) {
	b.Helper()
	if _, err := f.ix.Query(filter.Segment{Filters: []filter.Filter{}}); err != nil {
		b.Fatal(err)
	}
	if _, err := f.ix.Count(f.ix.Segments()[0]); err != nil {
		b.Fatal(err)
	}
}

// upsertCatchUp is how many upserts upsertInterleaved makes between two
// catch-ups (untimed).
const upsertCatchUp = 64 * upsertBatch

// checkIndexed fails b when the paths indexFields indexed are no longer
// all kept.
func (f *upsertBench) checkIndexed(b *testing.B) {
	b.Helper()
	if f.indexed {
		if got := f.ix.Stats().IndexedPaths; got != f.paths {
			b.Fatalf("%d paths indexed, %d before", got, f.paths)
		}
	}
}

func upsertModes(b *testing.B, f *upsertBench) {
	for _, c := range f.cycles {
		b.Run(c.name, func(b *testing.B) {
			f.catchUp(b)
			defer f.checkIndexed(b)
			b.Run("interleaved", func(b *testing.B) { upsertInterleaved(b, f, c) })
			b.Run("interleaved-cpu", func(b *testing.B) { upsertInterleavedCPU(b, f, c) })
			b.Run("Upsert", func(b *testing.B) {
				b.ReportAllocs()
				var batch [][]byte
				for b.Loop() {
					batch = f.pick(c, batch, 1)
					if _, err := f.ix.Upsert(batch[0]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ClassifyJSONInto", func(b *testing.B) {
				b.ReportAllocs()
				res := f.eng.NewResult()
				i := 0 // its own cursor: c's is where the upserts are
				for b.Loop() {
					if err := f.eng.ClassifyJSONInto(c.seq[i], res); err != nil {
						b.Fatal(err)
					}
					i = (i + 1) % len(c.seq)
				}
			})
		})
	}
}

func upsertInterleaved(b *testing.B, f *upsertBench, c *upsertCycle) {
	res := f.eng.NewResult()
	var ups, cls []float64
	var batch [][]byte
	// Each side reads its batch from a fresh copy, in the cache as a
	// contact just received would be, never left there by the other side.
	var in [upsertBatch][]byte
	fresh := func() {
		for i, raw := range batch {
			in[i] = append(in[i][:0], raw...)
		}
	}
	events := 0
	upsert := func() time.Duration {
		fresh()
		t0 := time.Now()
		for _, raw := range in {
			ev, err := f.ix.Upsert(raw)
			if err != nil {
				b.Fatal(err)
			}
			events += len(ev)
		}
		return time.Since(t0)
	}
	classify := func() time.Duration {
		fresh()
		t0 := time.Now()
		for _, raw := range in {
			if err := f.eng.ClassifyJSONInto(raw, res); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cycle := 0
	var deferred time.Duration // the catch-ups' time
	deferredN := 0             // the upserts they caught up
	for b.Loop() {
		batch = f.pick(c, batch, upsertBatch)
		var u, k time.Duration
		if cycle++; cycle%2 == 0 { // each side goes first every other cycle
			u, k = upsert(), classify()
		} else {
			k, u = classify(), upsert()
		}
		ups = append(ups, float64(u.Nanoseconds())/upsertBatch)
		cls = append(cls, float64(k.Nanoseconds())/upsertBatch)
		if cycle%(upsertCatchUp/upsertBatch) == 0 {
			b.StopTimer()
			t0 := time.Now()
			f.catchUp(b)
			deferred += time.Since(t0)
			deferredN += upsertCatchUp
			b.StartTimer()
		}
	}
	runtime.ReadMemStats(&ms1)
	n := float64(len(ups) * upsertBatch)
	med, lo, hi := upsertRatios(ups, cls)
	b.ReportMetric(upsertMean(ups), "upsert-ns/contact")
	b.ReportMetric(upsertMean(cls), "classify-ns/contact")
	b.ReportMetric(med, "ratio")
	// The fresh copies allocate nothing once grown: what is counted is
	// Upsert's.
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "upsert-allocs/contact")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "upsert-B/contact")
	b.ReportMetric(float64(events)/n, "events/upsert")
	def := 0.0
	if deferredN > 0 {
		def = float64(deferred.Nanoseconds()) / float64(deferredN)
	}
	b.ReportMetric(def, "deferred-ns/contact")
	b.Logf("%s: %.0f contacts in %d batches, wall time: Upsert / ClassifyJSONInto %.2fx (batches 10-90%%: %.2f-%.2f; target <= 1.5); "+
		"the deferred upkeep, caught up every %d upserts: %.0f ns a contact (upsert + catch-up: %.2fx the mean classify)",
		c.name, n, len(ups), med, lo, hi, upsertCatchUp, def, (upsertMean(ups)+def)/upsertMean(cls))
}

func upsertInterleavedCPU(b *testing.B, f *upsertBench, c *upsertCycle) {
	b.StopTimer()
	f.reset(b, c) // MeasureInterleaved starts at seq[0]
	f.catchUp(b)  // (c.k contacts pending at most: under what drops the paths)
	b.StartTimer()
	res := f.eng.NewResult()
	bs := []benchmarks.Backend{
		upsertBackend{"Upsert", func(raw []byte) error { _, err := f.ix.Upsert(raw); return err }},
		upsertBackend{"ClassifyJSONInto", func(raw []byte) error { return f.eng.ClassifyJSONInto(raw, res) }},
	}
	var iv benchmarks.Interleaving
	for b.Loop() {
		iv = benchmarks.MeasureInterleaved(bs, 200, c.seq, upsertCPUDuration(), 5*time.Millisecond)
	}
	b.StopTimer()
	f.reset(b, c) // the index holds what f.held says again
	b.StartTimer()
	for _, err := range iv.Errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	r := iv.Ratio(0, 1)
	lo, hi := iv.Spread(0, 1)
	b.ReportMetric(iv.Median(0), "upsert-ns/contact")
	b.ReportMetric(iv.Median(1), "classify-ns/contact")
	b.ReportMetric(r, "ratio")
	b.Logf("%s: %d cycles, %s time: Upsert %.0f ns, ClassifyJSONInto %.0f ns a contact: %.2fx (cycles 10-90%%: %.2f-%.2f; target <= 1.5)",
		c.name, iv.Cycles, iv.Clock, iv.Median(0), iv.Median(1), r, lo, hi)
}

// BenchmarkBackfill: registering one new segment on the index with 200
// registered (SetSegments with the 201: the 200 keep their members, the
// new one's are computed alone) against a full rescan (an engine of the
// 201 segments built and every contact classified again). Each iteration
// does both, the index put back to its 200 segments untimed in between;
// the ratio is the median of the iterations'.
func BenchmarkBackfill(b *testing.B) {
	f := upsertFixture(b)
	now := func() time.Time { return upsertClock }
	var backfill, rescan []float64
	for b.Loop() {
		t0 := time.Now()
		events, err := f.ix.SetSegments(f.segs)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		b.StopTimer()
		if _, err := f.ix.SetSegments(f.segs[:200]); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t2 := time.Now()
		eng, err := engine.New(f.segs, segmatch.WithNow(now))
		if err != nil {
			b.Fatal(err)
		}
		res := eng.NewResult()
		members := 0
		for _, raw := range f.held {
			if err := eng.ClassifyJSONInto(raw, res); err != nil {
				b.Fatal(err)
			}
			if res.Matches[200] {
				members++
			}
		}
		t3 := time.Now()
		if len(events) != members {
			b.Fatalf("backfill: %d enter events; the rescan finds %d members", len(events), members)
		}
		backfill = append(backfill, float64(t1.Sub(t0).Nanoseconds()))
		rescan = append(rescan, float64(t3.Sub(t2).Nanoseconds()))
	}
	med, lo, hi := upsertRatios(backfill, rescan)
	b.ReportMetric(upsertMean(backfill)/1e6, "backfill-ms")
	b.ReportMetric(upsertMean(rescan)/1e6, "rescan-ms")
	b.ReportMetric(med, "ratio")
	b.Logf("one new segment on %d contacts, 200 registered: SetSegments / full rescan %.3fx (iterations 10-90%%: %.3f-%.3f; %d iterations)",
		len(f.held), med, lo, hi, len(backfill))
}
