package audience

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/race"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/segmatch/segmatch/operators"
)

// policies are the ways a query may decide its conditions: each must
// give the scan's answer.
var policies = []struct {
	name string
	pol  policy
}{
	{"default", defaultPolicy},
	{"values", policy{buildShare: 1, buildBelow: math.MaxUint64, values: alwaysValues}}, // every path indexed, tests on every value
	{"each", policy{noIndex: true}},                                     // every condition on each candidate
	{"mixed", policy{buildShare: 3, buildBelow: 0, values: alwaysEach}}, // paths indexed for large candidates only, tests on each candidate
	{"lazy", policy{buildShare: 0, buildBelow: 0}},                      // no path indexed: only those indexed already
}

// withPolicy runs fn under pol.
func withPolicy(pol policy, fn func()) {
	defer func(old policy) { indexPolicy = old }(indexPolicy)
	indexPolicy = pol
	fn()
}

// hostileContacts are raw contacts randgen does not write: repeated keys,
// escapes, invalid UTF-8, numbers beyond float64, numeric strings, odd
// elements, nested fan-outs.
var hostileContacts = []string{
	`{"_id":"h1","country":"IT","country":"DE","age":30,"age":"31"}`,
	`{"_id":"h2","name":"\u0041lice","email":"bob\u0040bigco.com","country":"\u0130T"}`,
	"{\"_id\":\"h3\",\"name\":\"inv\xffalid\",\"tags\":[\"v\xffip\",\"vip\"]}",
	`{"_id":"h4","age":"34","score":"-0","tags":["34",34,"vip",null,[1],{"a":1},true,"VIP"]}`,
	`{"_id":"h5","age":1e400,"score":-1e400,"tags":[],"name":""}`,
	`{"_id":"h6","orders":[{"sku":["A1","B2"]},{"sku":"k"},{"x":1},{"sku":[]},"loose"],"attributes":{}}`,
	`{"_id":"h7","tags":"vip-customer","name":"  ","email":"ALICE@BIGCO.COM"}`,
	`{"_id":"h8","orders":[[{"sku":"A1"}],{"sku":null}],"matrix":[[1,2],[3],[],null]}`,
	`{"_id":"h9","matrix":[[1,"2"],[3]],"a.b":"x","#":7}`,
	`{"_id":"h10","#":null,"tags":null,"attributes":[{"country":"it"},{"country":"ſ"}]}`,
	`{"_id":"h11","age":"034","score":"1e3","tags":["ſ","\u212a","straße"],"country":"K"}`,
	`{"_id":"h12","age":-0,"score":0.0,"version":"2.0","createdAt":"2026-03-14","ip":["10.1.2.3","::1"]}`,
	`{"_id":"h13","orders":[{"sku":"A1","tags":["vip","gold"]},{"sku":"A1","tags":"vip"}],"attributes":{"plan":{"tier":["gold","GOLD"]}}}`,
	`{"_id":"h14","email":{},"name":[],"age":[],"score":{"x":1},"tags":[[],[""]]}`,
	// Escaped and repaired keys, repeated objects.
	`{"_id":"h15","c\u006funtry":"FR","attributes":{"a\u0067e":44,"country":"DE"},"\u0061.b":"y","\u0023":3,"ag\u0065":"7"}`,
	"{\"_id\":\"h16\",\"n\xffame\":\"x\",\"email\":\"e\xff@bigco.com\",\"ta\xffgs\":[1]}",
	`{"_id":"h17","attributes":{"country":"IT","plan":{"tier":"gold"}},"attributes":{"orders":3},"orders":[{"sku":"A1"}],"orders":{"sku":"B2"}}`,
	`{"_id":"h18","attributes":5,"attributes":{"country":"DE","plan":{"tier":"GOLD"},"plan":"x"},"tags":["a"],"tags":"vip"}`,
}

// diffIndex is an index of random and hostile contacts (ids "c0"...,
// "h1"...), with its raw contacts by id.
func diffIndex(t *testing.T, g *randgen.Gen, n int) (*Index, map[string][]byte) {
	t.Helper()
	ix := New(Options{Now: func() time.Time { return randgen.Now }})
	raws := map[string][]byte{}
	for i := range n {
		c := g.Contact()
		c["_id"] = fmt.Sprintf("c%d", i)
		raw, err := json.Marshal(c)
		require.NoError(t, err)
		_, err = ix.Upsert(raw)
		require.NoError(t, err)
		raws[c["_id"].(string)] = raw
	}
	for _, h := range hostileContacts {
		_, err := ix.Upsert([]byte(h))
		require.NoError(t, err, h)
		id, _ := ix.idOf([]byte(h))
		raws[id] = []byte(h)
	}
	return ix, raws
}

// checkSegments compares every segment's answer through the field index,
// under every policy, with the scan's.
func checkSegments(t *testing.T, ix *Index, segs []filter.Segment) {
	t.Helper()
	for _, s := range segs {
		prog, err := segmatch.Compile(s, segmatch.WithNow(func() time.Time { return randgen.Now }))
		require.NoError(t, err)
		ix.mu.RLock()
		want := scan(ix, ix.live, prog)
		for _, p := range policies {
			withPolicy(p.pol, func() {
				got, err := ix.fields.query(ix, s, prog)
				require.NoError(t, err)
				if !got.Equals(want) {
					doc, _ := json.Marshal(&s)
					t.Errorf("policy %s, segment %s:\n  only the index: %v\n  only the scan:  %v", p.name, doc,
						idsOf(ix.ids, roaring.AndNot(got, want)), idsOf(ix.ids, roaring.AndNot(want, got)))
				}
			})
		}
		ix.mu.RUnlock()
		if t.Failed() {
			t.FailNow()
		}
	}
}

// TestDifferential: thousands of random segments (every operator and
// alias, negate, ignore_case, nested groups, fan-out paths) answered
// through the field index equal the scan, on random and hostile contacts,
// before and after upserts and removals change the indexed paths.
func TestDifferential(t *testing.T) {
	rounds, perRound := 4, 400
	if testing.Short() || race.Enabled {
		rounds, perRound = 2, 120
	}
	routes := map[string]int{}
	ops := map[string]map[string]bool{}
	traceRoute = func(op, route string) {
		routes[route]++
		if ops[route] == nil {
			ops[route] = map[string]bool{}
		}
		ops[route][op] = true
	}
	defer func() { traceRoute = nil }()
	for seed := uint64(1); seed <= 3; seed++ {
		g := randgen.New(seed)
		ix, raws := diffIndex(t, g, 300)
		for round := range rounds {
			var segs []filter.Segment
			for range perRound {
				segs = append(segs, g.Segment())
			}
			checkSegments(t, ix, segs)
			checkPathsCurrent(t, ix)
			// Change the contacts: replace some, remove some, add some,
			// put some removed ones back.
			ids := make([]string, 0, len(raws))
			for id := range raws {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for i, id := range ids {
				switch (i + round) % 7 {
				case 0, 3:
					c := g.Contact()
					c["_id"] = id
					raw, _ := json.Marshal(c)
					_, err := ix.Upsert(raw)
					require.NoError(t, err)
					raws[id] = raw
				case 5:
					_, err := ix.Remove(id)
					require.NoError(t, err)
					delete(raws, id)
				}
			}
			for i := range 40 {
				c := g.Contact()
				id := fmt.Sprintf("n%d-%d", round, i)
				c["_id"] = id
				raw, _ := json.Marshal(c)
				_, err := ix.Upsert(raw)
				require.NoError(t, err)
				raws[id] = raw
			}
			for i, h := range hostileContacts {
				if (i+round)%3 == 0 {
					_, err := ix.Upsert([]byte(h))
					require.NoError(t, err)
					id, _ := ix.idOf([]byte(h))
					raws[id] = []byte(h)
				}
			}
			require.Equal(t, len(raws), ix.Len())
		}
		checkPathsCurrent(t, ix)
	}
	// Every way of deciding a condition was taken, by many operators.
	for _, r := range []string{routeLookup, routeValues, routeEach, routeAlone, routeUnsure} {
		t.Logf("%-6s %6d conditions, operators %v", r, routes[r], slices.Sorted(maps.Keys(ops[r])))
		require.Greater(t, routes[r], 100, r)
	}
	require.Len(t, ops[routeLookup], len(direct), "every operator of direct looked up")
}

// checkPathsCurrent: every indexed path, kept current by add and remove,
// equals the same path indexed afresh.
func checkPathsCurrent(t *testing.T, ix *Index) {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for key, p := range ix.fields.paths {
		if !p.ready.Load() {
			continue
		}
		fresh := newPathIndex(p.path) // read by GetRaw, the reference
		it := ix.live.Iterator()
		for it.HasNext() {
			n := it.Next()
			fresh.change(n, operators.GetRaw(rawString(ix.raws[n]), p.path), true, false)
		}
		if p.folds != nil {
			fresh.foldTable()
		}
		requirePathsEqual(t, key, fresh, p)
	}
}

func requirePathsEqual(t *testing.T, key string, want, got *pathIndex) {
	t.Helper()
	bms := func(p *pathIndex) []*roaring.Bitmap {
		return []*roaring.Bitmap{p.null, p.str, p.num, p.boolean, p.arr, p.obj, p.set, p.empty, p.bools[0], p.bools[1]}
	}
	for i, b := range bms(want) {
		require.True(t, b.Equals(bms(got)[i]), "path %q bitmap %d: want %v got %v", key, i, b, bms(got)[i])
	}
	requirePostingsEqual(t, key+" strs", want.strs, got.strs)
	requirePostingsEqual(t, key+" nums", want.nums, got.nums)
	requirePostingsEqual(t, key+" numStrs", want.numStrs, got.numStrs)
	require.Equal(t, want.folds == nil, got.folds == nil, key)
	for f, os := range want.folds {
		require.ElementsMatch(t, os, got.folds[f], "path %q fold %q", key, f)
	}
	require.Len(t, got.folds, len(want.folds), key)
}

func requirePostingsEqual[K interface{ ~string | ~float64 }](t *testing.T, what string, want, got postings[K]) {
	t.Helper()
	require.Len(t, got.m, len(want.m), what)
	for k, w := range want.m {
		g, ok := got.m[k]
		require.True(t, ok, "%s: %v missing", what, k)
		require.True(t, postingBitmap(w).Equals(postingBitmap(g)), "%s: %v", what, k)
		require.True(t, g.bm == nil || g.bm.GetCardinality() > 1, "%s: %v: a bitmap of one", what, k)
	}
	// The key order: every key, in order, stale ones aside.
	require.True(t, slices.IsSorted(got.keys.keys), what)
	require.Len(t, slices.Compact(slices.Clone(got.keys.keys)), len(got.keys.keys), "%s: repeated keys", what)
	live := map[K]bool{}
	require.Len(t, got.keys.vals, len(got.keys.keys), what)
	for i, k := range got.keys.keys {
		p, ok := got.m[k]
		require.Equal(t, ok, !got.keys.dead[i], "%s: %v dead", what, k)
		if ok { // the posting kept beside the sorted key is the table's
			require.True(t, postingBitmap(p).Equals(postingBitmap(got.keys.vals[i])), "%s: %v: the sorted key's posting", what, k)
		}
		live[k] = ok
	}
	for _, k := range got.keys.pending {
		if _, ok := got.m[k]; ok {
			require.False(t, live[k], "%s: %v both sorted and pending", what, k)
		}
	}
	for _, k := range got.keys.pending {
		if _, ok := got.m[k]; ok {
			live[k] = true
		}
	}
	n := 0
	for _, ok := range live {
		if ok {
			n++
		}
	}
	require.Equal(t, len(want.m), n, "%s: keys", what)
}

func postingBitmap(p posting) *roaring.Bitmap {
	if p.bm == nil {
		return roaring.BitmapOf(p.one)
	}
	return p.bm
}

// TestQuerySnapshot: a query's answer is its own: later writes change
// neither it nor what a registered segment got from it.
func TestQuerySnapshot(t *testing.T) {
	ix := New(Options{})
	for i := range 50 {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"c%d","country":"IT","tags":["vip"]}`, i))
		require.NoError(t, err)
	}
	q, err := ix.Query(filter.Segment{Filters: []filter.Filter{filter.Cond("country", "eq", "IT")}})
	require.NoError(t, err)
	all, err := ix.Query(filter.Segment{Filters: []filter.Filter{}})
	require.NoError(t, err)
	vip, err := ix.Query(filter.Segment{Filters: []filter.Filter{filter.Cond("tags", "contains", "vip")}})
	require.NoError(t, err)
	for i := range 50 {
		_, err := ix.Upsert(fmt.Appendf(nil, `{"_id":"d%d","country":"IT","tags":["vip"]}`, i))
		require.NoError(t, err)
	}
	_, err = ix.Remove("c0")
	require.NoError(t, err)
	require.Equal(t, 50, q.Count())
	require.Equal(t, 50, all.Count())
	require.Equal(t, 50, vip.Count())
	q2, err := ix.Query(filter.Segment{Filters: []filter.Filter{filter.Cond("country", "eq", "IT")}})
	require.NoError(t, err)
	require.Equal(t, 99, q2.Count())
}

// TestDifferentialTiledesk: the benchmark's Tiledesk-like contacts (one
// value per field but tags, so ranges and prefixes are also taken as
// complements, and unions are built dense) and its generated segments,
// plus conditions with negations, ignore_case, numeric strings and nested
// groups on the same fields, before and after changes.
func TestDifferentialTiledesk(t *testing.T) {
	n, k, extra := 2500, 150, 150
	if testing.Short() || race.Enabled {
		n, k, extra = 800, 40, 40
	}
	defer func(old uint64) { denseFrom = old }(denseFrom)
	denseFrom = 64
	defer func(old uint64) { eachFrom = old }(eachFrom)
	eachFrom = 0 // ranges on few candidates tested on each (eachCheaper)
	complements := 0
	traceRoute = func(op, route string) {
		if route == "complement" {
			complements++
		}
	}
	defer func() { traceRoute = nil }()
	cfg := benchmarks.DefaultConfig
	cfg.Segments = k
	gen := benchmarks.NewContactGen(cfg)
	ix := New(Options{Now: func() time.Time { return randgen.Now }})
	for range n {
		_, err := ix.Upsert(gen.Next(nil))
		require.NoError(t, err)
	}
	// Numeric strings, and a few odd values, in fields otherwise numbers.
	for i, raw := range []string{
		`{"_id":"s1","attributes":{"age":"34","score":"7.5"},"email":"GIULIA.ROSSI@gmail.com"}`,
		`{"_id":"s2","attributes":{"age":"034"},"country":"it","lead_id":"web-"}`,
		`{"_id":"s3","attributes":{"age":true,"score":null},"country":["IT"]}`,
		`{"_id":"s4","attributes":{"age":{"x":1}},"email":""}`,
	} {
		_, err := ix.Upsert([]byte(raw))
		require.NoError(t, err, i)
	}
	segs := benchmarks.GenerateSegments(cfg)
	r := randgen.New(7)
	fields := []string{"country", "attributes.age", "tags", "email", "attributes.score", "lead_id", "attributes.lifetime_value", "city", "properties.app_version"}
	for i := range extra {
		var fs []filter.Filter
		for j := range 1 + i%3 {
			c := r.Condition(randgen.Operators[(i*7+j*13)%len(randgen.Operators)])
			c.Field = fields[(i+j)%len(fields)]
			fs = append(fs, c)
		}
		s := filter.Segment{Filters: fs}
		if i%4 == 0 {
			s = filter.Segment{Match: filter.Any, Filters: []filter.Filter{{Match: filter.All, Negate: i%8 == 0, Filters: fs}, segs[i%len(segs)].Filters[0]}}
		}
		if _, err := segmatch.Compile(s); err == nil {
			segs = append(segs, s)
		}
	}
	for _, s := range []filter.Segment{
		seg(cond("attributes.age", "gte", 30)), seg(cond("attributes.age", "lt", 70)), seg(cond("attributes.age", "between", []int{20, 75})),
		seg(cond("attributes.age", "not_between", []int{20, 75})), seg(cond("attributes.lifetime_value", "gt", 100)),
		seg(cond("email", "gte", "b")), seg(cond("email", "lte", "m")), seg(cond("lead_id", "starts_with", []string{"web-", "api-", "fair-"})),
		seg(cond("email", "starts_with", "")), seg(cond("country", "between", []string{"A", "Z"})),
	} {
		segs = append(segs, s)
	}
	checkSegments(t, ix, segs)
	for i := range n / 3 {
		raw := gen.Next(nil)
		// Replace contact i's content: take its id.
		id := ix.ids[i*2]
		raw = append([]byte(`{"_id":"`+id+`",`), raw[len(`{"_id":"012345678901234567890123",`):]...)
		_, err := ix.Upsert(raw)
		require.NoError(t, err)
		if i%5 == 0 {
			_, _ = ix.Remove(ix.ids[i*2+1])
		}
	}
	checkPathsCurrent(t, ix)
	checkSegments(t, ix, segs)
	t.Logf("%d segments, %d ranges taken as complements", len(segs), complements)
	require.Greater(t, complements, 50)
}

// TestConcurrentBuilds: queries that index paths at once, the same ones
// and overlapping sets, beside a writer (go test -race); afterwards every
// answer equals the scan's and every path is current.
func TestConcurrentBuilds(t *testing.T) {
	gen := benchmarks.NewContactGen(benchmarks.DefaultConfig)
	ix := New(Options{})
	var raws [][]byte
	for range 3000 {
		raw := gen.Next(nil)
		raws = append(raws, raw)
		_, err := ix.Upsert(raw)
		require.NoError(t, err)
	}
	fields := []string{"country", "attributes.age", "tags", "email", "city", "lead_id", "attributes.score", "properties.plan.tier"}
	var segs []filter.Segment
	for i := range fields {
		segs = append(segs, seg(filter.CondNoValue(fields[i], "is_set"), cond(fields[(i+1)%len(fields)], "ne", "x"),
			cond(fields[(i+3)%len(fields)], "starts_with", "a")))
	}
	var wg sync.WaitGroup
	for r := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * len(segs) {
				_, err := ix.Query(segs[(r+i)%len(segs)])
				if err != nil {
					t.Error(err)
				}
				_ = ix.Stats()
			}
		}()
	}
	for i := range 400 {
		raw := gen.Next(nil)
		copy(raw[len(`{"_id":"`):], raws[i][len(`{"_id":"`):len(`{"_id":"`)+24])
		_, err := ix.Upsert(raw)
		require.NoError(t, err)
	}
	wg.Wait()
	checkSegments(t, ix, segs)
	checkPathsCurrent(t, ix)
}
