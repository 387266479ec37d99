package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store/bolt"
)

// TestLeadsFigures measures the audience routes on loopback, on the bolt
// store (fsync'd writes), with 200 generated segments registered
// (benchmarks.GenerateSegments) and N generated Tiledesk-like leads of
// about 1 KB (benchmarks.NewContactReader): the bulk load (leads/s, RSS),
// preview latency at concurrency 16, single upsert latency, the delay
// from an upsert to its event on an SSE client, and the time a restart
// takes to a ready index. Opt in:
//
//	SEGMATCH_BIG=1 [SEGMATCH_BIG_N=1000000] go test -run TestLeadsFigures -v -timeout 60m ./httpapi
//
// Client and server share the process (and its RSS figures).
func TestLeadsFigures(t *testing.T) {
	if os.Getenv("SEGMATCH_BIG") == "" {
		t.Skip("set SEGMATCH_BIG=1 (and SEGMATCH_BIG_N, default 1,000,000) to measure")
	}
	n := 1_000_000
	if v := os.Getenv("SEGMATCH_BIG_N"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	cfg := benchmarks.Config{Segments: 200, Seed: 1}
	segs := benchmarks.GenerateSegments(cfg)
	path := filepath.Join(t.TempDir(), "segmatch.db")
	st, err := bolt.Open(path)
	require.NoError(t, err)
	lim := leads.Limits{MaxBulkLeads: -1, MaxProjectLeads: -1}
	f := newLeadFixture(t, st, lim)
	defs := make([]string, len(segs))
	for i, s := range segs {
		b, err := json.Marshal(map[string]any{"name": fmt.Sprintf("seg-%03d", i), "match": s.Match, "filters": s.Filters})
		require.NoError(t, err)
		defs[i] = string(b)
		f.create(defs[i])
	}
	probe := f.create(`{"name":"probe","filters":[{"field":"probe","operator":"=","value":true}]}`)
	t.Logf("machine: %d CPUs (shared), %s; %d segments + probe registered", runtime.NumCPU(), runtime.Version(), len(segs))

	// 1. Bulk load, one streamed request.
	start := time.Now()
	body := benchmarks.NewContactReader(cfg, n)
	hr, _ := http.NewRequest("POST", f.srv.URL+leadPath(p1, "bulk"), body)
	hr.Header.Set("Content-Type", "application/x-ndjson")
	hr.SetBasicAuth(agent, password)
	res, err := f.srv.Client().Do(hr)
	require.NoError(t, err)
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw[:min(len(raw), 500)]))
	var rep leads.Report
	require.NoError(t, json.Unmarshal(raw, &rep))
	stats, err := f.api.Leads().Stats(t.Context(), p1)
	require.NoError(t, err)
	fi, _ := os.Stat(path)
	t.Logf("bulk load: %d lines, %d accepted (%d distinct leads), %d rejected in %v: %.0f leads/s; RSS now %d MiB, peak %d MiB; index: raw %d MiB, members %d MiB, field index %d MiB; bolt file %d MiB",
		n, rep.Accepted, stats.Leads, rep.Rejected, took.Round(time.Millisecond), float64(rep.Accepted)/took.Seconds(),
		rss()>>20, benchmarks.PeakRSS()>>20, stats.Index.RawBytes>>20, stats.Index.MemberBytes>>20, stats.Index.FieldIndexBytes>>20, fi.Size()>>20)

	// 2. Preview at concurrency 16: the 200 segments, unsaved, at random.
	// One request first: a bulk load longer than the password cache's TTL
	// (auth.Limits.CacheTTL) leaves the next requests to bcrypt, one slot
	// at a time, and 16 of them at once would time the password checks
	// (or be refused, 429) rather than the previews.
	f.count(agent, p1, probe)
	const workers, each = 16, 40
	start = time.Now()
	lat := previewLoad(t, f, defs, workers, each)
	t.Logf("preview, concurrency %d, %d requests in %v: %s", workers, workers*each, time.Since(start).Round(time.Millisecond), pcts(slices.Concat(lat...)))

	// 3. Single upserts (each fsync'd), one after the other.
	ups := make([]time.Duration, 0, 1000)
	for i := range 1000 {
		t0 := time.Now()
		r := f.putLead(agent, p1, fmt.Sprintf("single-%d", i%100), fmt.Sprintf(`{"attributes":{"country":"IT","n":%d},"tags":["vip"]}`, i))
		if r.status != http.StatusOK && r.status != http.StatusCreated {
			t.Fatalf("PUT: %d %s", r.status, r.raw)
		}
		ups = append(ups, time.Since(t0))
	}
	t.Logf("single upsert (fsync'd), sequential: %s", pcts(ups))

	// 4. Upsert to event on an SSE client.
	ev := f.stream(agent, p1, "", "segment="+probe)
	dl := make([]time.Duration, 0, 300)
	for i := range 300 {
		t0 := time.Now()
		f.putLead(agent, p1, fmt.Sprintf("probe-%d", i), `{"probe":true}`)
		e := ev.nextEv(t)
		if e.data["lead"] != fmt.Sprintf("probe-%d", i) {
			t.Fatalf("event %v, want probe-%d", e, i)
		}
		dl = append(dl, time.Since(t0))
	}
	t.Logf("upsert -> SSE event (from sending the PUT to the event read by the client): %s", pcts(dl))

	// 5. Restart: the store reopened, the index rebuilt.
	ev.cancel()
	f.api.Leads().CloseStreams() // else srv.Close waits for the stream
	f.srv.Close()
	require.NoError(t, f.api.Close())
	require.NoError(t, st.Close())
	runtime.GC()
	start = time.Now()
	st2, err := bolt.Open(path)
	require.NoError(t, err)
	opened := time.Since(start)
	g := newLeadFixture(t, st2, lim)
	require.NoError(t, g.api.Leads().Warm(t.Context()))
	ready := time.Since(start)
	stats, err = g.api.Leads().Stats(t.Context(), p1)
	require.NoError(t, err)
	t.Logf("restart: store open (checks included) %v, ready index of %d leads and %d segments %v; RSS now %d MiB",
		opened.Round(time.Millisecond), stats.Leads, stats.Segments, ready.Round(time.Millisecond), rss()>>20)
	require.Equal(t, g.count(agent, p1, probe), 300)
}

// pcts renders p50, p99 and max of ds.
func pcts(ds []time.Duration) string {
	slices.Sort(ds)
	if len(ds) == 0 {
		return "none"
	}
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return fmt.Sprintf("n=%d p50 %v p99 %v max %v", len(ds), at(0.50).Round(time.Microsecond), at(0.99).Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
}

// rss is the process's resident set size now (VmRSS), 0 where unknown.
func rss() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// previewLoad sends each previews of defs (unsaved segments, drawn at
// random) from each of workers clients at once, and returns each one's
// latencies.
func previewLoad(t *testing.T, f *fixture, defs []string, workers, each int) [][]time.Duration {
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range each {
				def := defs[r.IntN(len(defs))]
				t0 := time.Now()
				hr, _ := http.NewRequest("POST", f.srv.URL+segPath(p1, "preview")+"?limit=40", strings.NewReader(def))
				hr.Header.Set("Content-Type", "application/json")
				hr.SetBasicAuth(agent, password)
				res, err := f.srv.Client().Do(hr)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("preview: %d", res.StatusCode)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	return lat
}
