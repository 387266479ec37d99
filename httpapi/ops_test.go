package httpapi_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/store/memory"
)

// TestHealthAndReady: /healthz answers without credentials at once;
// /readyz is 503 naming what is pending until Warm has loaded the leads
// and built the engines, 200 after, and 503 again once the API closes.
func TestHealthAndReady(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	r := f.do(req{method: "GET", path: "/healthz"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.JSONEq(t, `{"status":"ok"}`, r.raw)

	r = f.do(req{method: "GET", path: "/readyz"})
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	assert.JSONEq(t, `{"status":"not ready","checks":{"store":"ok","leads":"pending","engine":"pending"}}`, r.raw)

	lead := f.as(agent, "PUT", "/v3/"+p1+"/leads/l1", `{"lead_id":"l1","email":"a@b.it"}`)
	require.Less(t, lead.status, 300, lead.raw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.api.Warm(ctx))
	r = f.do(req{method: "GET", path: "/readyz"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.JSONEq(t, `{"status":"ok","checks":{"store":"ok","leads":"ok","engine":"ok"}}`, r.raw)

	// Only GET; and the routes are not under the prefix.
	assert.Equal(t, http.StatusMethodNotAllowed, f.do(req{method: "POST", path: "/readyz", body: "{}"}).status)
	assert.Equal(t, http.StatusNotFound, f.do(req{method: "GET", path: "/v3/healthz"}).status)

	require.NoError(t, f.api.Close())
	r = f.do(req{method: "GET", path: "/readyz"})
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	assert.Equal(t, "closed", r.json["checks"].(map[string]any)["engine"])
	assert.Equal(t, http.StatusOK, f.do(req{method: "GET", path: "/healthz"}).status)
}

// scrape reads /metrics into series (name{labels} as exposed) -> value.
func scrape(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	r := f.do(req{method: "GET", path: "/metrics"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Contains(t, r.header.Get("Content-Type"), "text/plain")
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(r.raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

// TestMetrics scrapes /metrics after some requests: counts and latency
// by route pattern (never the raw path) and status, classifications,
// engine builds, segments and conditions per project, auth failures and
// rate limits.
func TestMetrics(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	id := f.create(`{"name":"s","filters":[{"field":"a","operator":"=","value":1},
		{"match":"any","filters":[{"field":"b","operator":"exists","value":true},{"field":"c","operator":"=","value":"x"}]}]}`)
	f.create(`{"name":"t","filters":[{"field":"a","operator":"=","value":2}]}`)
	for range 2 {
		r := f.as(agent, "GET", segPath(p1, id), "")
		require.Equal(t, http.StatusOK, r.status, r.raw)
	}
	r := f.as(agent, "GET", segPath(p1, "0123456789abcdef01234567"), "")
	require.Equal(t, http.StatusNotFound, r.status, r.raw)
	r = f.as(agent, "POST", segPath(p1, "classify"), `[{"a":1,"b":true},{"a":2},{}]`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: segPath(p1)}).status)
	assert.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: segPath(p1), user: agent, pass: "wrong"}).status)
	assert.Equal(t, http.StatusForbidden, f.as("out@f21.it", "GET", segPath(p1), "").status)
	assert.Equal(t, http.StatusNotFound, f.do(req{method: "GET", path: "/nowhere/" + strings.Repeat("x", 50)}).status)

	m := scrape(t, f)
	get := `segmatch_http_requests_total{route="GET /v3/{project_id}/segments/{id}",status="200"}`
	assert.Equal(t, 2.0, m[get], "by route pattern and status")
	assert.Equal(t, 1.0, m[`segmatch_http_requests_total{route="GET /v3/{project_id}/segments/{id}",status="404"}`])
	assert.Equal(t, 2.0, m[`segmatch_http_requests_total{route="POST /v3/{project_id}/segments",status="200"}`])
	assert.Equal(t, 1.0, m[`segmatch_http_requests_total{route="/",status="404"}`], "an unknown path is the catch-all route")
	assert.Equal(t, 2.0, m[`segmatch_http_request_duration_seconds_count{route="GET /v3/{project_id}/segments/{id}",status="200"}`])
	assert.Contains(t, m, `segmatch_http_request_duration_seconds_bucket{route="GET /v3/{project_id}/segments/{id}",status="200",le="0.005"}`)
	for k := range m {
		assert.NotContains(t, k, id, "no raw path in a label")
		assert.NotContains(t, k, "nowhere")
	}
	assert.Equal(t, 3.0, m[`segmatch_classified_contacts_total{project="`+p1+`"}`])
	assert.GreaterOrEqual(t, m[`segmatch_engine_builds_total{result="ok"}`], 1.0)
	assert.Equal(t, 0.0, m[`segmatch_engine_builds_total{result="error"}`])
	assert.Equal(t, m[`segmatch_engine_builds_total{result="ok"}`], m[`segmatch_engine_build_duration_seconds_count`])
	assert.Equal(t, 2.0, m[`segmatch_project_segments{project="`+p1+`"}`])
	assert.Equal(t, 2.0, m[`segmatch_auth_failures_total{reason="unauthenticated"}`])
	assert.Equal(t, 1.0, m[`segmatch_auth_failures_total{reason="forbidden"}`])
	assert.Equal(t, 0.0, m[`segmatch_rate_limited_requests_total{reason="failures"}`])
	assert.Contains(t, m, `segmatch_rate_limited_requests_total{reason="busy"}`)

	// The engine is rebuilt in the background after a write; its
	// conditions (4 here: groups are not counted) follow.
	require.Eventually(t, func() bool {
		m = scrape(t, f)
		return m[`segmatch_project_conditions{project="`+p1+`"}`] == 4
	}, 10*time.Second, 20*time.Millisecond, "conditions: %v", m[`segmatch_project_conditions{project="`+p1+`"}`])
	assert.Positive(t, m[`segmatch_http_requests_total{route="GET /metrics",status="200"}`])
}

// TestMetricsRateLimited: a request refused by the failure limit counts
// as rate limited (and not as an auth failure).
func TestMetricsRateLimited(t *testing.T) {
	f, _ := newAuthFixture(t, auth.Config{Limits: auth.Limits{FailuresPerAddress: 2, FailuresPerEmail: 100, FailureWindow: time.Minute, Tarpit: -1}})
	for range 2 {
		assert.Equal(t, http.StatusUnauthorized, f.do(req{method: "GET", path: segPath(p1), user: agent, pass: "wrong"}).status)
	}
	assert.Equal(t, http.StatusTooManyRequests, f.do(req{method: "GET", path: segPath(p1), user: agent, pass: "wrong"}).status)
	m := scrape(t, f)
	assert.Equal(t, 1.0, m[`segmatch_rate_limited_requests_total{reason="failures"}`])
	assert.Equal(t, 2.0, m[`segmatch_auth_failures_total{reason="unauthenticated"}`])
	assert.Equal(t, 1.0, m[`segmatch_http_requests_total{route="GET /v3/{project_id}/segments",status="429"}`])
}
