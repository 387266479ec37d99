package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store/bolt"
)

// TestLeadsProfile is TestLeadsFigures' bulk load, preview and restart,
// with CPU, mutex and block profiles of each phase written to the folder
// SEGMATCH_PROF (opt in):
//
//	SEGMATCH_PROF=/tmp/prof SEGMATCH_BIG_N=100000 go test -run TestLeadsProfile -v ./httpapi
//	go tool pprof -top /tmp/prof/preview.cpu
func TestLeadsProfile(t *testing.T) {
	dir := os.Getenv("SEGMATCH_PROF")
	if dir == "" {
		t.Skip("set SEGMATCH_PROF to a folder for the profiles")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	n := 100_000
	if v := os.Getenv("SEGMATCH_BIG_N"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	phase := func(name string) func() {
		f, err := os.Create(filepath.Join(dir, name+".cpu"))
		require.NoError(t, err)
		require.NoError(t, pprof.StartCPUProfile(f))
		runtime.SetMutexProfileFraction(5)
		runtime.SetBlockProfileRate(int(10 * time.Microsecond))
		return func() {
			pprof.StopCPUProfile()
			f.Close()
			for _, p := range []string{"mutex", "block"} {
				g, err := os.Create(filepath.Join(dir, name+"."+p))
				require.NoError(t, err)
				require.NoError(t, pprof.Lookup(p).WriteTo(g, 0))
				g.Close()
			}
			runtime.SetMutexProfileFraction(0)
			runtime.SetBlockProfileRate(0)
		}
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

	stop := phase("bulk")
	start := time.Now()
	hr, _ := http.NewRequest("POST", f.srv.URL+leadPath(p1, "bulk"), benchmarks.NewContactReader(cfg, n))
	hr.Header.Set("Content-Type", "application/x-ndjson")
	hr.SetBasicAuth(agent, password)
	res, err := f.srv.Client().Do(hr)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	stop()
	t.Logf("bulk load of %d: %v", n, time.Since(start).Round(time.Millisecond))

	preview := func(name string) {
		stop := phase(name)
		defer stop()
		const workers, each = 16, 40
		start := time.Now()
		lat := previewLoad(t, f, defs, workers, each)
		t.Logf("%s, concurrency %d, %d requests in %v: %s", name, workers, workers*each, time.Since(start).Round(time.Millisecond), pcts(slices.Concat(lat...)))
	}
	preview("preview")
	preview("preview2")

	f.api.Leads().CloseStreams()
	f.srv.Close()
	require.NoError(t, f.api.Close())
	require.NoError(t, st.Close())
	runtime.GC()
	stop = phase("restart")
	start = time.Now()
	st2, err := bolt.Open(path)
	require.NoError(t, err)
	opened := time.Since(start)
	g := newLeadFixture(t, st2, lim)
	require.NoError(t, g.api.Leads().Warm(t.Context()))
	stop()
	t.Logf("restart: store open %v, ready %v", opened.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	f = g
	preview("preview-restarted")
}
