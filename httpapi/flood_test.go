package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/store/memory"
)

// TestPasswordFlood measures what a wrong-password flood does to another
// user (issue 12, attack 6): an honest client, whose Basic credentials
// were proven once, GETs a segment over loopback while 32 goroutines send
// wrong passwords as fast as the server answers. Three phases of about
// 3 s: quiet; the flood from one address (127.0.0.1, rotating emails);
// the flood from a fresh address per request (127.x.y.z, new connection
// each, rotating emails). It reports the honest GET's p50/p99 per phase
// and the flood's answers, and fails only on the honest client's errors.
//
//	SEGMATCH_FLOOD=1 go test -run TestPasswordFlood -v ./httpapi/
//
// It uses only what the API had before the brake on password checks, so
// the same file measures the old code (copied into a worktree of it).
func TestPasswordFlood(t *testing.T) {
	if os.Getenv("SEGMATCH_FLOOD") == "" {
		t.Skip("set SEGMATCH_FLOOD=1 to run the password flood measurement (~10 s)")
	}
	const (
		attackers = 32
		phase     = 3 * time.Second
	)
	// Hashes of the cost `segmatch users add` uses.
	hash, err := bcrypt.GenerateFromPassword([]byte("honest-password"), bcrypt.DefaultCost)
	require.NoError(t, err)
	entries := []auth.Entry{
		{ID: "u-honest", Email: "honest@f21.it", PasswordHash: string(hash), Roles: map[string]string{p1: "agent"}},
		{ID: "u-victim", Email: "victim@f21.it", PasswordHash: string(hash), Roles: map[string]string{p1: "owner"}},
	}
	const newcomers = 3 // honest users who first sign in during the flood
	for i := range newcomers {
		entries = append(entries, auth.Entry{ID: fmt.Sprintf("u-new-%d", i), Email: fmt.Sprintf("new-%d@f21.it", i),
			PasswordHash: string(hash), Roles: map[string]string{p1: "agent"}})
	}
	doc, err := json.Marshal(entries)
	require.NoError(t, err)
	users, err := auth.ParseUsers(doc)
	require.NoError(t, err)
	st := memory.New()
	api := httpapi.New(httpapi.Config{Prefix: "/v3", Store: st, Auth: auth.NewAuthenticator(auth.Config{Users: users})})
	srv := httptest.NewServer(api)
	defer func() {
		srv.Close()
		api.Close()
		st.Close()
	}()

	// Each client has its own connections (http.DefaultTransport would
	// share two idle ones among all).
	honest := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	call := func(c *http.Client, method, path, email, pw, body string) (int, string, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(email, pw)
		res, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		return res.StatusCode, string(raw), err
	}
	code, raw, err := call(honest, "POST", segPath(p1), "honest@f21.it", "honest-password", seg1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, raw)
	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &created))
	get := segPath(p1, created["_id"].(string))

	// measure runs the honest GET for d, one every 5 ms, and returns the
	// latencies.
	measure := func(d time.Duration) []time.Duration {
		var lat []time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); {
			start := time.Now()
			code, raw, err := call(honest, "GET", get, "honest@f21.it", "honest-password", "")
			lat = append(lat, time.Since(start))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code, raw)
			time.Sleep(5 * time.Millisecond)
		}
		return lat
	}
	// flood runs the attackers until stop, each with the client newClient
	// gives it, and counts the answers by status.
	flood := func(newClient func() *http.Client, stop <-chan struct{}) (wait func() map[int]int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[int]int{}
		var n atomic.Int64
		for range attackers {
			wg.Go(func() {
				c := newClient()
				local := map[int]int{}
				for {
					select {
					case <-stop:
						mu.Lock()
						for k, v := range local {
							counts[k] += v
						}
						mu.Unlock()
						return
					default:
					}
					i := n.Add(1)
					email := "victim@f21.it"
					if i%2 == 0 {
						email = fmt.Sprintf("guess-%d@f21.it", i) // rotating unknown emails
					}
					code, _, err := call(c, "GET", get, email, fmt.Sprintf("wrong-%d", i), "")
					if err != nil {
						code = -1
					}
					local[code]++
				}
			})
		}
		return func() map[int]int { wg.Wait(); return counts }
	}
	pct := func(lat []time.Duration, p float64) time.Duration {
		s := slices.Clone(lat)
		slices.Sort(s)
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	report := func(name string, lat []time.Duration, counts map[int]int) {
		t.Logf("%-22s honest GET p50 %8v  p99 %8v  max %8v  (n=%d)  flood answers %v",
			name, pct(lat, 0.50).Round(10*time.Microsecond), pct(lat, 0.99).Round(10*time.Microsecond),
			slices.Max(lat).Round(10*time.Microsecond), len(lat), counts)
	}
	t.Logf("GOMAXPROCS %d, %d attackers, bcrypt cost %d", runtime.GOMAXPROCS(0), attackers, bcrypt.DefaultCost)

	measure(200 * time.Millisecond) // warm up: the honest password is proven
	report("quiet", measure(phase), nil)

	oneAddr := func() *http.Client { return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}} }
	stop := make(chan struct{})
	wait := flood(oneAddr, stop)
	lat := measure(phase)
	close(stop)
	report("flood, one address", lat, wait())

	manyAddrs := func() *http.Client {
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				ip := net.IPv4(127, byte(1+rand.IntN(254)), byte(rand.IntN(256)), byte(1+rand.IntN(254)))
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
				return d.DialContext(ctx, network, addr)
			},
		}}
	}
	stop = make(chan struct{})
	wait = flood(manyAddrs, stop)
	// Meanwhile, honest users sign in for the first time (bcrypt, not the
	// cache), each retrying after Retry-After as a client should.
	firsts := make(chan string, 1)
	go func() {
		var out []string
		time.Sleep(phase / 4)
		for i := range newcomers {
			// from an address of their own (not the first flood's)
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(200+i))}}
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
			start := time.Now()
			var codes []int
			for {
				req, _ := http.NewRequest("GET", srv.URL+get, nil)
				req.SetBasicAuth(fmt.Sprintf("new-%d@f21.it", i), "honest-password")
				res, err := c.Do(req)
				if err != nil {
					codes = append(codes, -1)
					break
				}
				res.Body.Close()
				codes = append(codes, res.StatusCode)
				if res.StatusCode == http.StatusOK || len(codes) == 10 {
					break
				}
				ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
				time.Sleep(time.Duration(max(ra, 1)) * time.Second)
			}
			out = append(out, fmt.Sprintf("%v in %v", codes, time.Since(start).Round(time.Millisecond)))
		}
		firsts <- strings.Join(out, "; ")
	}()
	lat = measure(phase)
	close(stop)
	report("flood, many addresses", lat, wait())
	t.Logf("first sign-ins during that flood (answers, time to a 200): %s", <-firsts)
}
