package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/store/bolt"
)

// TestLoad drives list and classify with 32 concurrent clients over
// loopback, a fixed number of requests each, against the bbolt store, and
// reports latency percentiles and throughput. It fails only on errors
// (timings depend on the machine).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "load.db"))
	require.NoError(t, err)
	f := newFixture(t, st, "/v3")
	countries := []string{"IT", "FR", "DE", "ES", "US"}
	for i := range 50 {
		f.create(fmt.Sprintf(`{"name":"s%d","match":"all","filters":[
			{"field":"attributes.country","operator":"=","value":%q},
			{"field":"attributes.orders","operator":">=","value":%d},
			{"field":"tags","operator":"contains","value":"vip","negate":%v}]}`, i, countries[i%5], i%7, i%2 == 0))
	}
	var contacts []string
	for i := range 10 {
		contacts = append(contacts, fmt.Sprintf(`{"lead_id":"%d","email":"c%d@x.it","attributes":{"country":%q,"orders":%d},"tags":["vip","t%d"]}`, i, i, countries[i%5], i, i))
	}
	classifyBody := "[" + strings.Join(contacts, ",") + "]"

	const (
		concurrency = 32
		requests    = 2000
	)
	tr := &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	run := func(name string, mk func() *http.Request) {
		lat := make([]time.Duration, requests)
		var next atomic.Int64
		var failures atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= requests {
						return
					}
					t0 := time.Now()
					res, err := client.Do(mk())
					if err != nil {
						failures.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					lat[i] = time.Since(t0)
					if res.StatusCode != http.StatusOK {
						failures.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		require.Zero(t, failures.Load(), name)
		slices.Sort(lat)
		t.Logf("%-8s %d requests, concurrency %d: p50 %v, p99 %v, max %v, %.0f req/s",
			name, requests, concurrency, lat[requests/2].Round(time.Microsecond), lat[requests*99/100].Round(time.Microsecond),
			lat[requests-1].Round(time.Microsecond), float64(requests)/elapsed.Seconds())
	}
	run("list", func() *http.Request {
		r, _ := http.NewRequest("GET", f.srv.URL+segPath(p1)+"?limit=20", nil)
		r.SetBasicAuth(agent, password)
		return r
	})
	run("classify", func() *http.Request {
		r, _ := http.NewRequest("POST", f.srv.URL+segPath(p1, "classify"), strings.NewReader(classifyBody))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(agent, password)
		return r
	})
}
