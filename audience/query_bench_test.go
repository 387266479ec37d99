package audience

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
)

// Issue 15's target: on 1,000,000 Tiledesk-like contacts (benchmarks.
// NewContactGen, ~1 KB each) the segment country in [IT, DE, FR], tags
// contains vip, attributes.age >= 30 is answered in at most 5 ms, where
// the scan (Program.MatchJSON over every contact) takes some 1,700 ms.
//
//	go test -run '^$' -bench Query ./audience/                  # 100,000 contacts
//	SEGMATCH_BIG=1 go test -run '^$' -bench Query ./audience/   # 1,000,000
//
// BenchmarkQuery logs (-v) what indexing costs: the time to load the
// contacts, to index the paths the target reads (its first query) and
// those the other queries read, and the field index's memory per contact,
// as Stats estimates it and as the heap grew. Each sub-benchmark but the
// last times Index.Query of one segment (ms/op), its paths indexed, and
// reports the scan of the same segment, timed once beforehand, as scan-ms
// and scan/query; the index's answer is checked equal to the scan's
// first. BenchmarkQuery/eager indexes every path the contacts hold and
// reports the memory that would take.

// queryBench is the fixture: the index, and the queries with their scans.
type queryBench struct {
	ix      *Index
	n       int
	load    time.Duration
	queries []benchQuery
	scanMS  map[string]float64
	report  []string // what BenchmarkQuery logs
	heap0   uint64   // the heap before any path was indexed
}

type benchQuery struct {
	name string
	seg  filter.Segment
}

func cond(field, op string, v any) filter.Filter { return filter.Cond(field, op, v) }

func seg(fs ...filter.Filter) filter.Segment { return filter.Segment{Filters: fs} }

// benchQueries: the target, then one query per operator the index
// decides, then some it decides per value or per candidate, and the two
// it cannot (relative dates, elem_match).
var benchQueries = []benchQuery{
	{"target", seg(cond("country", "in", []string{"IT", "DE", "FR"}), cond("tags", "contains", "vip"), cond("attributes.age", ">=", 30))},
	{"eq", seg(cond("country", "eq", "IT"))},
	{"ne", seg(cond("country", "ne", "IT"))},
	{"eq_ignore_case", seg(filter.Filter{Field: "country", Operator: "eq", Value: filter.ValueOf("it"), IgnoreCase: true})},
	{"eq_bool", seg(cond("attributes.newsletter", "eq", true))},
	{"eq_null", seg(cond("country", "eq", nil))},
	{"in", seg(cond("country", "in", []string{"IT", "DE", "FR"}))},
	{"not_in", seg(cond("country", "not_in", []string{"IT", "DE", "FR"}))},
	{"gt", seg(cond("attributes.age", "gt", 30))},
	{"gte", seg(cond("attributes.age", "gte", 30))},
	{"lt", seg(cond("attributes.age", "lt", 30))},
	{"lte", seg(cond("attributes.age", "lte", 30))},
	{"between", seg(cond("attributes.age", "between", []int{30, 40}))},
	{"not_between", seg(cond("attributes.age", "not_between", []int{30, 40}))},
	{"gte_many_values", seg(cond("attributes.lifetime_value", "gte", 1000))},
	{"contains_element", seg(cond("tags", "contains", "vip"))},
	{"not_contains", seg(cond("tags", "not_contains", "vip"))},
	{"contains_any", seg(cond("tags", "contains_any", []string{"vip", "beta"}))},
	{"contains_all", seg(cond("tags", "contains_all", []string{"vip", "beta"}))},
	{"contains_none", seg(cond("tags", "contains_none", []string{"vip", "beta"}))},
	{"starts_with", seg(cond("email", "starts_with", "giulia."))},
	{"starts_with_many_values", seg(cond("lead_id", "starts_with", "web-"))},
	{"is_set", seg(filter.CondNoValue("email", "is_set"))},
	{"is_not_set", seg(filter.CondNoValue("email", "is_not_set"))},
	{"is_empty", seg(filter.CondNoValue("tags", "is_empty"))},
	{"is_not_empty", seg(filter.CondNoValue("tags", "is_not_empty"))},
	// A test on each distinct value.
	{"contains_substring", seg(cond("email", "contains", "@gmail.com"))},
	{"ends_with", seg(cond("email", "ends_with", ".it"))},
	{"regex", seg(cond("email", "regex", `^giulia\.[a-z]+[0-9]+@`))},
	{"semver_gte", seg(cond("properties.app_version", "semver_gte", "2.0.0"))},
	{"after_many_values", seg(cond("createdAt", "after", "2026-06-01"))},
	// Narrowed first, then a test on each candidate.
	{"eq_and_regex", seg(cond("country", "eq", "IT"), cond("attributes.age", "gte", 60), cond("email", "regex", `[0-9]@`))},
	{"any_of_three", filter.Segment{Match: filter.Any, Filters: []filter.Filter{cond("country", "eq", "JP"), cond("tags", "contains", "beta"), cond("attributes.score", "gt", 95)}}},
	{"nested_negated", seg(cond("country", "in", []string{"IT", "DE"}), filter.Filter{Match: filter.Any, Negate: true, Filters: []filter.Filter{cond("tags", "contains", "churn-risk"), cond("attributes.gdpr_consent", "eq", false)}})},
	// Not decided by the index: the program runs on the candidates.
	{"within_last", seg(cond("createdAt", "within_last", "30d"))},
	{"eq_and_elem_match", seg(cond("country", "eq", "IT"), cond("orders", "elem_match", json.RawMessage(`{"match":"all","filters":[{"field":"qty","operator":">=","value":4}]}`)))},
}

var benchClock15 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

var queryFixture = sync.OnceValues(func() (*queryBench, error) {
	n := 100_000
	if os.Getenv("SEGMATCH_BIG") != "" {
		n = 1_000_000
	}
	qb := &queryBench{n: n, queries: benchQueries, scanMS: map[string]float64{}}
	qb.ix = New(Options{Now: func() time.Time { return benchClock15 }})
	gen := benchmarks.NewContactGen(benchmarks.DefaultConfig)
	t0 := time.Now()
	var buf []byte
	for range n {
		buf = gen.Next(buf[:0])
		if _, err := qb.ix.Upsert(buf); err != nil {
			return nil, err
		}
	}
	qb.load = time.Since(t0)
	if qb.ix.Len() != n {
		return nil, fmt.Errorf("%d contacts indexed of %d (an id drawn twice?)", qb.ix.Len(), n)
	}
	qb.logf("%d contacts (%.0f B each on average) loaded by Upsert in %.1f s", n, float64(qb.ix.bytes)/float64(n), qb.load.Seconds())

	// The target's paths, indexed by its first query.
	heap0 := heapBytes()
	t0 = time.Now()
	if _, err := qb.ix.Query(benchQueries[0].seg); err != nil {
		return nil, err
	}
	cold := time.Since(t0)
	heap1 := heapBytes()
	st := qb.ix.Stats()
	qb.logf("the target's first query (indexing country, tags, attributes.age): %.0f ms; field index %.1f B/contact estimated (Stats), heap +%.1f B/contact",
		ms(cold), float64(st.FieldIndexBytes)/float64(n), float64(heap1-heap0)/float64(n))

	// Every other path the queries read.
	for _, q := range benchQueries {
		if err := qb.indexPaths(q.seg); err != nil {
			return nil, err
		}
	}
	st = qb.ix.Stats()
	heap2 := heapBytes()
	qb.heap0 = heap0
	qb.logf("the paths of every query (%d): field index %.1f B/contact estimated, heap +%.1f B/contact",
		len(qb.ix.fields.paths), float64(st.FieldIndexBytes)/float64(n), float64(heap2-heap0)/float64(n))
	return qb, nil
})

func (qb *queryBench) logf(format string, args ...any) {
	qb.report = append(qb.report, fmt.Sprintf(format, args...))
}

// indexPaths indexes the paths of a segment's conditions.
func (qb *queryBench) indexPaths(s filter.Segment) error {
	var walk func(fs []filter.Filter) error
	walk = func(fs []filter.Filter) error {
		for i := range fs {
			if fs[i].IsGroup() {
				if err := walk(fs[i].Filters); err != nil {
					return err
				}
				continue
			}
			p, err := filter.ParsePath(fs[i].Field)
			if err != nil {
				return err
			}
			qb.ix.mu.RLock()
			qb.ix.fields.path(qb.ix, p, nil)
			qb.ix.mu.RUnlock()
		}
		return nil
	}
	return walk(s.Filters)
}

// scan times the scan of a query, once, and checks the index's answer
// against it.
func (qb *queryBench) scan(q benchQuery) (float64, error) {
	if t, ok := qb.scanMS[q.name]; ok {
		return t, nil
	}
	prog, err := segmatch.Compile(q.seg, segmatch.WithNow(func() time.Time { return benchClock15 }))
	if err != nil {
		return 0, err
	}
	qb.ix.mu.RLock()
	t0 := time.Now()
	want := scan(qb.ix, qb.ix.live, prog)
	t := ms(time.Since(t0))
	qb.ix.mu.RUnlock()
	got, err := qb.ix.Query(q.seg)
	if err != nil {
		return 0, err
	}
	if !got.bm.Equals(want) {
		return 0, fmt.Errorf("%s: the index finds %d contacts, the scan %d", q.name, got.Count(), want.GetCardinality())
	}
	qb.scanMS[q.name] = t
	return t, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func BenchmarkQuery(b *testing.B) {
	qb, err := queryFixture()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range qb.report {
		b.Log(line)
	}
	for _, q := range qb.queries {
		b.Run(q.name, func(b *testing.B) {
			scanMS, err := qb.scan(q)
			if err != nil {
				b.Fatal(err)
			}
			var members int
			for b.Loop() {
				res, err := qb.ix.Query(q.seg)
				if err != nil {
					b.Fatal(err)
				}
				members = res.Count()
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
			b.ReportMetric(perOp, "ms/op")
			b.ReportMetric(scanMS, "scan-ms")
			b.ReportMetric(scanMS/perOp, "scan/query")
			b.ReportMetric(float64(members), "members")
		})
	}
	// Last, as it takes memory: what indexing every path eagerly would
	// cost.
	b.Run("eager", func(b *testing.B) {
		t0 := time.Now()
		for _, p := range []string{"country", "attributes.age", "tags", "email", "attributes.newsletter", "properties.plan.tier",
			"attributes.score", "city", "attributes.orders_count", "attributes.source", "lead_id", "attributes.lifetime_value",
			"attributes.preferences.language", "properties.platform", "properties.plan.seats", "attributes.gdpr_consent", "company",
			"attributes.preferences.channel", "properties.app_version", "status", "_id", "fullname", "phone", "createdAt",
			"orders.sku", "orders.qty", "orders.price", "orders.date", "notes"} {
			if err := qb.indexPaths(seg(filter.CondNoValue(p, "is_set"))); err != nil {
				b.Fatal(err)
			}
		}
		all := time.Since(t0)
		for b.Loop() {
		}
		st := qb.ix.Stats()
		heap := heapBytes()
		b.ReportMetric(float64(st.FieldIndexBytes)/float64(qb.n), "index-B/contact")
		b.ReportMetric(float64(heap-qb.heap0)/float64(qb.n), "heap-B/contact")
		b.Logf("every path a contact holds (%d, eagerly): %.1f s; field index %.1f B/contact estimated, heap +%.1f B/contact (raw JSON: %.0f B/contact)",
			len(qb.ix.fields.paths), all.Seconds(), float64(st.FieldIndexBytes)/float64(qb.n), float64(heap-qb.heap0)/float64(qb.n), float64(st.RawBytes)/float64(qb.n))
	})
}

// BenchmarkQueryUpkeep: what keeping indexed paths current adds to an
// Upsert, on 50,000 contacts without registered segments: a contact
// replaced by a new one (every field changed) or edited (one field
// changed), with no path indexed, the target's three, and the sixteen
// of the generator's pool that segments read. The upsert only records
// the contact as pending (ns/op); .../catch-up also brings the paths up
// to date after every upkeepBatch upserts, as the next query would, and
// reports both costs per contact: the upkeep deferred to the query.
//
//	go test -run '^$' -bench QueryUpkeep ./audience/
func BenchmarkQueryUpkeep(b *testing.B) {
	const n = 50_000
	gen := benchmarks.NewContactGen(benchmarks.DefaultConfig)
	var orig, repl [][]byte
	for range n {
		orig = append(orig, gen.Next(nil))
	}
	for i := range n {
		raw := gen.Next(nil)
		copy(raw[len(`{"_id":"`):], orig[i][len(`{"_id":"`):len(`{"_id":"`)+24]) // orig[i]'s id
		repl = append(repl, raw)
	}
	pool := []string{"country", "attributes.age", "tags", "email", "attributes.newsletter", "properties.plan.tier",
		"attributes.score", "city", "attributes.orders_count", "attributes.source", "lead_id", "attributes.lifetime_value",
		"attributes.preferences.language", "properties.platform", "properties.plan.seats", "attributes.gdpr_consent"}
	for _, paths := range [][]string{nil, pool[:3], pool} {
		ix := New(Options{})
		for _, raw := range orig {
			if _, err := ix.Upsert(raw); err != nil {
				b.Fatal(err)
			}
		}
		for _, p := range paths {
			pp, _ := filter.ParsePath(p)
			ix.mu.RLock()
			ix.fields.path(ix, pp, nil)
			ix.mu.RUnlock()
		}
		held := slices.Clone(orig)
		i := 0
		upsert := func(b *testing.B, mode string) {
			k := i % n
			i++
			next := repl[k]
			if mode == "edited" { // one field: the age
				next = editAge(held[k], i)
			} else if bytes.Equal(held[k], next) {
				next = orig[k]
			}
			if _, err := ix.Upsert(next); err != nil {
				b.Fatal(err)
			}
			held[k] = next
		}
		for _, mode := range []string{"replaced", "edited"} {
			b.Run(fmt.Sprintf("%s/paths=%d", mode, len(paths)), func(b *testing.B) {
				j := 0
				for b.Loop() {
					upsert(b, mode)
					if j++; j%4096 == 0 { // not timed: the paths stay kept (dropPending)
						b.StopTimer()
						catchUp(ix)
						b.StartTimer()
					}
				}
				catchUp(ix) // the next sub-benchmark starts current
				if got := ix.Stats().IndexedPaths; got != len(paths) {
					b.Fatalf("%d paths indexed, %d at the start", got, len(paths))
				}
			})
			// The deferred upkeep: a query after every upkeepBatch upserts
			// catches the paths up; its cost per contact upserted.
			b.Run(fmt.Sprintf("%s/paths=%d/catch-up", mode, len(paths)), func(b *testing.B) {
				var ups, catch time.Duration
				for b.Loop() {
					t0 := time.Now()
					for range upkeepBatch {
						upsert(b, mode)
					}
					t1 := time.Now()
					catchUp(ix)
					catch += time.Since(t1)
					ups += t1.Sub(t0)
				}
				per := float64(b.N * upkeepBatch)
				b.ReportMetric(float64(ups.Nanoseconds())/per, "upsert-ns/contact")
				b.ReportMetric(float64(catch.Nanoseconds())/per, "catch-up-ns/contact")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// upkeepBatch is how many upserts BenchmarkQueryUpkeep's catch-up runs
// between two catch-ups.
const upkeepBatch = 1000

// catchUp brings ix's paths up to date, as the next query does.
func catchUp(ix *Index) {
	ix.mu.RLock()
	ix.fields.catchUp(ix)
	ix.mu.RUnlock()
}

// editAge is raw with its attributes.age changed (or the contact as it
// is when it has none).
func editAge(raw []byte, i int) []byte {
	j := bytes.Index(raw, []byte(`"age":`))
	if j < 0 {
		return raw
	}
	end := j + len(`"age":`)
	k := end
	for k < len(raw) && raw[k] != ',' && raw[k] != '}' {
		k++
	}
	out := append(slices.Clone(raw[:end]), strconv.Itoa(18+i%60)...)
	return append(out, raw[k:]...)
}
