package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/store/keeper"
)

// metrics are the API's Prometheus series, served at GET /metrics:
//
//	segmatch_http_requests_total{route,status}             requests answered
//	segmatch_http_request_duration_seconds{route,status}   their latency (histogram)
//	segmatch_classified_contacts_total{project}            contacts classified (POST .../classify)
//	segmatch_engine_builds_total{result}                   engine (re)builds, ok or error
//	segmatch_engine_build_duration_seconds                 their duration (histogram)
//	segmatch_project_segments{project}                     active segments the project's engine holds
//	segmatch_project_conditions{project}                   conditions in its last engine build
//	segmatch_auth_failures_total{reason}                   401 unauthenticated, 403 forbidden
//	segmatch_rate_limited_requests_total{reason}           429 failures (too many failed sign-ins), 503 busy
//
// route is the pattern the request matched (its method and path
// template, "GET /v3/{project_id}/segments/{id}"), never the raw path,
// so a client cannot grow the series; "none" when no pattern matched (a
// redirect of the mux). Every label value is from a fixed set, except
// project, which is a project the caller was allowed into.
//
// The engine and project series are kept only for the keeper New starts
// (Config.Classifiers nil).
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	classified  *prometheus.CounterVec
	builds      *prometheus.CounterVec
	buildTime   prometheus.Histogram
	authFail    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	projects    *projectCollector
}

// newMetrics registers the API's series in reg (a new registry when
// nil). A registry already holding them is a programming error: New
// panics.
func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segmatch_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "segmatch_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "status"}),
		classified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segmatch_classified_contacts_total",
			Help: "Contacts classified by POST .../segments/classify, by project.",
		}, []string{"project"}),
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segmatch_engine_builds_total",
			Help: "Engine builds of a project's segments (the first and every rebuild), by result (ok, error).",
		}, []string{"result"}),
		buildTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "segmatch_engine_build_duration_seconds",
			Help:    "How long an engine build took.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10, 30},
		}),
		authFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segmatch_auth_failures_total",
			Help: "Requests refused by authentication (unauthenticated: 401) or authorisation (forbidden: 403).",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segmatch_rate_limited_requests_total",
			Help: "Requests refused by the password-check brake: failures (too many failed sign-ins, 429) or busy (too many checks at once, 503).",
		}, []string{"reason"}),
		projects: &projectCollector{last: map[string]int{},
			segments:   prometheus.NewDesc("segmatch_project_segments", "Active segments the project's engine holds (its changes included at once).", []string{"project"}, nil),
			conditions: prometheus.NewDesc("segmatch_project_conditions", "Conditions (not groups) in the project's last engine build.", []string{"project"}, nil),
		},
	}
	for _, reason := range []string{"unauthenticated", "forbidden"} {
		m.authFail.WithLabelValues(reason)
	}
	for _, reason := range []string{"failures", "busy"} {
		m.rateLimited.WithLabelValues(reason)
	}
	for _, result := range []string{"ok", "error"} {
		m.builds.WithLabelValues(result)
	}
	m.register(m.requests, m.latency, m.classified, m.builds, m.buildTime, m.authFail, m.rateLimited)
	return m
}

func (m *metrics) register(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			panic("httpapi.New: registering the metrics: " + err.Error())
		}
	}
}

// keep reports the projects of k (the keeper New started).
func (m *metrics) keep(k *keeper.Keeper) {
	m.projects.k = k
	m.register(m.projects)
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
}

// request counts one answered request.
func (m *metrics) request(r *http.Request, rw *recorder, d time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "none"
	}
	status := strconv.Itoa(rw.status)
	m.requests.WithLabelValues(route, status).Inc()
	m.latency.WithLabelValues(route, status).Observe(d.Seconds())
	switch err := rw.failure; {
	case err == nil:
	case errors.Is(err, auth.ErrUnauthenticated):
		m.authFail.WithLabelValues("unauthenticated").Inc()
	case errors.Is(err, auth.ErrNotMember), errors.Is(err, auth.ErrRole):
		m.authFail.WithLabelValues("forbidden").Inc()
	case errors.Is(err, auth.ErrRateLimited):
		m.rateLimited.WithLabelValues("failures").Inc()
	case errors.Is(err, auth.ErrBusy):
		m.rateLimited.WithLabelValues("busy").Inc()
	}
}

// timedBuild wraps build: it counts and times each build, and records
// the project's conditions.
func (m *metrics) timedBuild(build keeper.BuildFunc) keeper.BuildFunc {
	return func(segs []filter.Segment) (keeper.Classifier, error) {
		start := time.Now()
		c, err := build(segs)
		m.buildTime.Observe(time.Since(start).Seconds())
		if err != nil {
			m.builds.WithLabelValues("error").Inc()
			return c, err
		}
		m.builds.WithLabelValues("ok").Inc()
		if len(segs) > 0 {
			n := 0
			for i := range segs {
				n += conditions(segs[i].Filters)
			}
			m.projects.built(segs[0].IDProject, n)
		}
		return c, nil
	}
}

// conditions counts the conditions of fs, at every depth.
func conditions(fs []filter.Filter) int {
	n := 0
	for i := range fs {
		if fs[i].IsGroup() {
			n += conditions(fs[i].Filters)
		} else {
			n++
		}
	}
	return n
}

// projectCollector reports, at each scrape, the segments of every
// project the keeper holds an engine for, and the conditions of its
// last build.
type projectCollector struct {
	k                    *keeper.Keeper
	segments, conditions *prometheus.Desc
	mu                   sync.Mutex
	last                 map[string]int // project: conditions in its last build
}

func (c *projectCollector) built(project string, conds int) {
	if project == "" {
		return
	}
	c.mu.Lock()
	c.last[project] = conds
	c.mu.Unlock()
}

func (c *projectCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.segments
	ch <- c.conditions
}

func (c *projectCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	last := make(map[string]int, len(c.last))
	for p, n := range c.last {
		last[p] = n
	}
	c.mu.Unlock()
	for p, conds := range last {
		st, ok := c.k.Stats(p)
		if !ok {
			continue
		}
		if st.Segments == 0 {
			conds = 0 // emptied since: its builds no longer name it
		}
		ch <- prometheus.MustNewConstMetric(c.segments, prometheus.GaugeValue, float64(st.Segments), p)
		ch <- prometheus.MustNewConstMetric(c.conditions, prometheus.GaugeValue, float64(conds), p)
	}
}
