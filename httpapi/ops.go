package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/segmatch/segmatch/store"
)

// The operator's routes, at the root whatever the prefix, without
// authentication:
//
//	GET /healthz       the process serves HTTP: 200 {"status": "ok"}
//	GET /readyz        200 when ready, else 503; each check's state
//	GET /metrics       Prometheus text format (metrics.go)
//	GET /openapi.json  the OpenAPI 3.1 document of the whole API (openapi.go)

// readyProbeTimeout bounds the store's check in /readyz.
const readyProbeTimeout = 2 * time.Second

// The states of a readiness check.
const (
	checkOK      = "ok"
	checkPending = "pending" // Warm has not finished it yet
	checkFailed  = "failed"  // the detail is in the log
	checkClosed  = "closed"
)

// readiness is what Warm has finished.
type readiness struct {
	leads  atomic.Value // string: a check state
	engine atomic.Value // string
	closed atomic.Bool
}

func (r *readiness) init() {
	r.leads.Store(checkPending)
	r.engine.Store(checkPending)
}

// healthBody is the answer of /healthz and /readyz.
type healthBody struct {
	Status string            `json:"status"` // "ok" or "not ready"
	Checks map[string]string `json:"checks,omitempty"`
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, healthBody{Status: checkOK})
}

// readyz answers whether the server can serve every route: the store
// answers, and Warm has loaded every project's leads index and built
// the engines of those projects.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{
		"store":  a.storeCheck(r.Context()),
		"leads":  a.ready.leads.Load().(string),
		"engine": a.ready.engine.Load().(string),
	}
	if a.relay != nil {
		checks["workers"] = a.relayCheck(r.Context())
	}
	if a.ready.closed.Load() {
		checks["leads"], checks["engine"] = checkClosed, checkClosed
	}
	status, body := http.StatusOK, healthBody{Status: checkOK, Checks: checks}
	for _, v := range checks {
		if v != checkOK {
			status, body.Status = http.StatusServiceUnavailable, "not ready"
		}
	}
	writeJSON(w, status, body)
}

// relayCheck asks the relay's backend (the workers' NATS and
// PostgreSQL) whether it answers.
func (a *API) relayCheck(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, readyProbeTimeout)
	defer cancel()
	if err := a.relay.Ready(ctx); err != nil {
		a.log.Warn("readyz: the workers' NATS or PostgreSQL does not answer", "err", err)
		return checkFailed
	}
	return checkOK
}

// storeCheck reads one (absent) segment: not found is an answer.
func (a *API) storeCheck(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, readyProbeTimeout)
	defer cancel()
	_, err := a.st.Get(ctx, "readyz", "000000000000000000000000")
	switch {
	case err == nil, errors.Is(err, store.ErrNotFound):
		return checkOK
	case errors.Is(err, store.ErrClosed):
		return checkClosed
	}
	a.log.Warn("readyz: the store does not answer", "err", err)
	return checkFailed
}

// Warm loads every project's leads index and builds the engine of each
// of those projects, so that no first request waits for them; /readyz
// answers 200 once it has. It returns when all are done (or ctx is),
// with the first error (also reported by /readyz as "failed").
func (a *API) Warm(ctx context.Context) error {
	if a.relay != nil {
		// the leads are the workers'; nothing to load here
		a.ready.leads.Store(checkOK)
		a.ready.engine.Store(checkOK)
		return nil
	}
	if err := a.hub.Warm(ctx); err != nil {
		a.ready.leads.Store(checkFailed)
		a.ready.engine.Store(checkFailed)
		return err
	}
	a.ready.leads.Store(checkOK)
	ps, err := a.st.LeadProjects(ctx)
	if err == nil {
		for _, p := range ps {
			if _, err = a.cls.Get(ctx, p); err != nil {
				break
			}
		}
	}
	if err != nil {
		a.ready.engine.Store(checkFailed)
		return err
	}
	a.ready.engine.Store(checkOK)
	return nil
}
