// Package httpapi serves the Tiledesk segments REST API over a
// store.Store, secured by package auth (minimum role agent):
//
//	GET    {prefix}/{project_id}/segments               list (limit, page, sort, direction)
//	POST   {prefix}/{project_id}/segments               create
//	GET    {prefix}/{project_id}/segments/{id}          read
//	PUT    {prefix}/{project_id}/segments/{id}          update (optional If-Match)
//	DELETE {prefix}/{project_id}/segments/{id}          soft delete
//	POST   {prefix}/{project_id}/segments/{id}/match    does one segment match these contacts?
//	POST   {prefix}/{project_id}/segments/{id}/explain  why is (or is not) this contact in the segment?
//	POST   {prefix}/{project_id}/segments/classify      which segments does each contact belong to?
//
// and the audience routes over the projects' leads (leads.go: leads in,
// members, counts, previews, enter/exit events out), and, at the root
// without authentication, the operator's: GET /healthz, /readyz and
// /metrics (ops.go, metrics.go).
//
// For Tiledesk's clients (docs/tiledesk.md): every path answers OPTIONS
// (204, Allow) and, for Config.CORSOrigins, the CORS headers (cors.go);
// a trailing slash is ignored (/segments/ is /segments); a PUT's null
// keys are left unchanged (nulls.go); the list takes direction asc|desc
// and sort=_id; ?secret_token= authenticates when auth.Config.QueryToken
// allows it.
//
// Routing uses the standard library's method-and-path patterns. The
// literal "classify" segment is more specific than {id}, and no POST route
// exists on {id}, so the two never meet.
//
// Every error answers {"success": false, "msg": ...} with the status from
// one table (see statusTable); a 400 also lists the located problems.
//
// Writes do not wait for the world: the store validates (compiles) the
// one segment written, and the keeper's Observe compiles it once more
// for its overlay; the project's engine is rebuilt in the background
// (package keeper), while classify already sees the write. /match
// evaluates the program kept for the stored segment's version (the
// keeper's ProgramCache), compiling only a version it has not seen.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/keeper"
)

// Classifier answers which segments a decoded contact belongs to. The
// keeper's classifiers (the fallback keeper.Programs, later the engine)
// satisfy it.
type Classifier = keeper.Classifier

// Authenticator identifies the caller of a request; *auth.Authenticator
// is the real one. It returns an error wrapping auth.ErrUnauthenticated
// when the request does not prove who the caller is.
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Principal, error)
}

// Classifiers provides the current classifier of a project;
// (*keeper.Keeper).Get is one.
type Classifiers interface {
	Get(ctx context.Context, project string) (Classifier, error)
}

// observer is implemented by a Classifiers that wants to hear of the
// writes this API makes (the keeper, for read-your-writes).
type observer interface {
	Observe(project string, seg filter.Segment)
}

// programSource is implemented by a Classifiers that keeps compiled
// segments (the keeper's ProgramCache); /match evaluates them.
type programSource interface {
	Program(project string, seg filter.Segment) (*segmatch.Program, error)
}

// leadRoutes answers the lead routes: *leads.Hub in one process,
// *leads.Relay past one machine.
type leadRoutes interface {
	Limits() leads.Limits
	Put(ctx context.Context, project, pathID string, raw []byte) (leads.PutResult, error)
	Get(ctx context.Context, project, id string) ([]byte, error)
	Delete(ctx context.Context, project, id string) error
	Bulk(ctx context.Context, project string, body io.Reader, batched func()) (leads.Report, error)
	Count(ctx context.Context, project, segment string) (int, error)
	Members(ctx context.Context, project, segment string, offset, limit int) (leads.Page, error)
	Preview(ctx context.Context, project string, seg filter.Segment, limit int) (leads.Page, error)
}

// Config configures New.
type Config struct {
	// Prefix is mounted before "/{project_id}/segments": "/v3" for the
	// public API, "" for the original server's routes. No trailing slash.
	Prefix string
	// Store holds the segments; the API does not close it.
	Store store.Store
	// Auth authenticates callers; required.
	Auth Authenticator
	// Classifiers serves classify. When nil, New starts a keeper with
	// keeper.CompileEach over Store, stopped by (*API).Close.
	Classifiers Classifiers
	// Logger receives request logs and the detail of internal errors;
	// nil discards them.
	Logger *slog.Logger
	// MinRole is the role required in the project; 0 means auth.Agent.
	MinRole auth.Role
	// Leads holds the projects' leads for the audience routes; when nil,
	// New makes one over Store with LeadLimits, closed by (*API).Close.
	Leads *leads.Hub
	// Relay, when set, answers the lead routes instead of the hub: past
	// one machine, the workers' contacts stream and membership table
	// (worker.Audience behind a leads.Relay). An unsaved segment's
	// preview is a scan of the stored contacts (bounded in time), and
	// the event stream is the workers' (resumable from any server).
	Relay *leads.Relay
	// LeadLimits bounds the leads of the hub New makes (zero fields:
	// the defaults of package leads).
	LeadLimits leads.Limits
	// Metrics receives the API's Prometheus series (metrics.go), served
	// with the registry's other series at GET /metrics; nil: a registry
	// of the API's own.
	Metrics *prometheus.Registry
	// CORSOrigins are the browser origins allowed to call the API from
	// another site (cors.go), as ParseOrigins reads them: "*" for any,
	// else scheme://host[:port]. None (the default): no CORS headers, and
	// browsers keep other sites' scripts from the answers.
	CORSOrigins []string
}

// MaxBodyBytes bounds a request body; larger ones are a 413.
const MaxBodyBytes = 1 << 20

// API is the segments API, an http.Handler.
type API struct {
	st      store.Store
	auth    Authenticator
	cls     Classifiers
	own     *keeper.Keeper // the keeper New started, if any
	progs   programSource  // compiled stored segments, for /match
	hub     *leads.Hub     // the projects' leads and audiences
	ownHub  bool           // New made hub
	lr      leadRoutes     // hub, or Config.Relay
	relay   *leads.Relay   // Config.Relay (then lr), or nil
	log     *slog.Logger
	minRole auth.Role
	prefix  string
	metrics *metrics
	ready   readiness
	routes  []string // the patterns registered that serve, for the OpenAPI test
	// openapiJSON is the OpenAPI document under this prefix.
	openapiJSON []byte
	handler     http.Handler
}

// New builds the API. It panics on a missing Store or Auth, or a CORS
// origin ParseOrigins would refuse (programming errors: check origins
// from users with ParseOrigins).
func New(cfg Config) *API {
	if cfg.Store == nil || cfg.Auth == nil {
		panic("httpapi.New: Store and Auth are required")
	}
	for _, o := range cfg.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			panic("httpapi.New: " + err.Error())
		}
	}
	a := &API{st: cfg.Store, auth: cfg.Auth, cls: cfg.Classifiers, log: cfg.Logger,
		minRole: cfg.MinRole, prefix: strings.TrimRight(cfg.Prefix, "/")}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.minRole == 0 {
		a.minRole = auth.Agent
	}
	a.ready.init()
	a.metrics = newMetrics(cfg.Metrics)
	if a.cls == nil {
		a.own = keeper.New(cfg.Store, a.metrics.timedBuild(engineBuild(a.log)), keeper.WithLogger(a.log))
		a.cls = keeperClassifiers{a.own}
		a.metrics.keep(a.own)
	}
	a.hub = cfg.Leads
	if a.hub == nil {
		a.hub = leads.New(cfg.Store, cfg.LeadLimits, a.log)
		a.ownHub = true
	}
	a.lr = a.hub
	if cfg.Relay != nil {
		a.lr, a.relay = cfg.Relay, cfg.Relay
	}
	if ps, ok := a.cls.(programSource); ok {
		a.progs = ps
	} else {
		a.progs = programCache{keeper.NewProgramCache(nil, 0)}
	}
	if doc, err := openAPI(a.prefix); err != nil {
		a.log.Error("the OpenAPI document does not load", "err", err)
	} else {
		a.openapiJSON = doc
	}
	mux := &routeMux{ServeMux: http.NewServeMux()}
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", a.metrics.handler())
	mux.HandleFunc("GET /openapi.json", a.openapi)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		mux.Handle(p, methodNotAllowed("GET"))
	}
	base := a.prefix + "/{project_id}/segments"
	mux.Handle("GET "+base, a.project(a.list))
	mux.Handle("POST "+base, a.project(a.create))
	mux.Handle("POST "+base+"/classify", a.project(a.classify))
	mux.Handle("GET "+base+"/{id}", a.project(a.get))
	mux.Handle("PUT "+base+"/{id}", a.project(a.update))
	mux.Handle("DELETE "+base+"/{id}", a.project(a.delete))
	mux.Handle("POST "+base+"/{id}/match", a.project(a.match))
	mux.Handle("POST "+base+"/{id}/explain", a.project(a.explain))
	// The same paths with any other method: a JSON 405 naming the allowed
	// ones (the mux's own 405 is plain text).
	mux.Handle(base, methodNotAllowed("GET, POST"))
	// "classify" would otherwise be read as an {id} by GET, PUT and DELETE.
	// These patterns are more specific than the {id} ones, so they win;
	// a methodless one would conflict with them.
	for _, m := range []string{"GET ", "PUT ", "DELETE "} {
		mux.Handle(m+base+"/classify", methodNotAllowed("POST"))
	}
	mux.Handle(base+"/{id}", methodNotAllowed("GET, PUT, DELETE"))
	mux.Handle(base+"/{id}/match", methodNotAllowed("POST"))
	mux.Handle(base+"/{id}/explain", methodNotAllowed("POST"))
	a.routeLeads(mux)
	routeOptions(mux)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errRouteNotFound)
	}))
	a.routes = mux.patterns
	a.handler = stripSlash(a.logRequests(withCORS(mux, cfg.CORSOrigins)))
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Close stops the keeper and the leads hub New started (if it started
// them). It does not close the store.
func (a *API) Close() error {
	a.ready.closed.Store(true)
	if a.ownHub {
		_ = a.hub.Close()
	}
	if a.own != nil {
		return a.own.Close()
	}
	return nil
}

// Leads is the hub holding the projects' leads (to warm it at start,
// or end its event streams at shutdown: CloseStreams).
func (a *API) Leads() *leads.Hub { return a.hub }

// keeperClassifiers adapts *keeper.Keeper to Classifiers and observer.
type keeperClassifiers struct{ k *keeper.Keeper }

func (c keeperClassifiers) Get(ctx context.Context, project string) (Classifier, error) {
	return c.k.Get(ctx, project)
}

func (c keeperClassifiers) Observe(project string, seg filter.Segment) { c.k.Observe(project, seg) }

func (c keeperClassifiers) Program(project string, seg filter.Segment) (*segmatch.Program, error) {
	return c.k.Program(project, seg)
}

// programCache adapts a ProgramCache of the API's own to programSource.
type programCache struct{ c *keeper.ProgramCache }

func (c programCache) Program(project string, seg filter.Segment) (*segmatch.Program, error) {
	return c.c.Program(project, seg)
}

// KeeperClassifiers serves classify from k (for a keeper the caller
// owns, e.g. one built on the engine); writes made through the API are
// passed to k.Observe, so they are visible to the next classify at once,
// and /match evaluates k.Program (compiled once per segment version).
func KeeperClassifiers(k *keeper.Keeper) Classifiers { return keeperClassifiers{k} }

func methodNotAllowed(allow string) http.Handler { return allowOnly(allow) }

// allowOnly answers a JSON 405 naming the methods allowed.
type allowOnly string

func (a allowOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", string(a))
	writeError(w, r, errMethod)
}

// EngineBuild compiles a project's active segments into one engine (each
// field read once per contact, shared conditions decided once): what the
// keeper serves classify from. A stored segment that no longer compiles
// (written before a bound it now exceeds) is left out rather than allowed
// to take the whole project's classify down; /match answers 422 for it.
func EngineBuild(segs []filter.Segment) (keeper.Classifier, error) {
	return engineBuild(slog.New(slog.DiscardHandler))(segs)
}

// engineBuild is EngineBuild logging the segments it leaves out to log.
func engineBuild(log *slog.Logger) keeper.BuildFunc {
	return func(segs []filter.Segment) (keeper.Classifier, error) { return buildSkipping(segs, log) }
}

func buildSkipping(segs []filter.Segment, log *slog.Logger) (keeper.Classifier, error) {
	eng, err := engine.New(segs)
	if err == nil {
		return eng, nil
	}
	bad := map[int]bool{}
	for _, ce := range store.Problems(err) {
		// engine.New prefixes each problem with its segment's index.
		tok, _, _ := strings.Cut(strings.TrimPrefix(ce.Path, "/"), "/")
		i, aerr := strconv.Atoi(tok)
		if aerr != nil || i < 0 || i >= len(segs) {
			return nil, err
		}
		bad[i] = true
	}
	if len(bad) == 0 {
		return nil, err
	}
	kept := make([]filter.Segment, 0, len(segs)-len(bad))
	var left []string
	for i, s := range segs {
		if bad[i] {
			left = append(left, s.ID)
			continue
		}
		kept = append(kept, s)
	}
	log.Warn("stored segments left out of classify: they no longer compile", "segments", left, "err", err)
	return engine.New(kept)
}
