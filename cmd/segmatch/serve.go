package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/postgres"
)

// Server timeouts: a slow or idle client cannot hold a connection (and
// its goroutine) for long; bodies are at most 1 MiB, so 30 s to read one
// is generous.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// jwtSecretEnv names the environment variable holding the HS256 secret.
const jwtSecretEnv = "SEGMATCH_JWT_SECRET"

// serve runs the HTTP API until SIGINT or SIGTERM; SIGHUP reloads the
// users file. SIGHUP is caught from the start, so one sent before the
// server listens is not fatal: it is handled once the server runs.
func serve(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveContext(ctx, hup, args, stdout, stderr)
}

// serveContext serves the segments API on the bbolt store until ctx is
// done, then shuts down gracefully: the listener closes, in-flight
// requests finish (up to --shutdown-timeout), the keeper stops and the
// store closes cleanly. Each signal on hup reloads the users file.
func serveContext(ctx context.Context, hup <-chan os.Signal, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `ADDRESS` (host:port; port 0 picks a free one)")
	data := fs.String("data", "segmatch.db", "the bbolt data `FILE` (created if missing; checked at start: a damaged one is refused)")
	pgDSN := fs.String("pg", "", "keep segments and leads in PostgreSQL instead of --data: a `DSN` (postgres://user@host/db or key=value; the password can stay in $PGPASSWORD or ~/.pgpass); several servers may share it")
	natsURL := fs.String("nats", "", "past one machine: NATS server `URL`s (comma-separated, needs --pg); lead writes go to the contacts stream for `segmatch worker`, and leads, counts and members are read from the workers' membership tables (the workers must keep the default --version-field)")
	stream := fs.String("stream", "SEGMATCH_CONTACTS", "with --nats: the contacts stream `NAME` the workers consume")
	limits := storeLimitFlags(fs)
	usersPath := fs.String("users", "users.json", "the users `FILE` (see `segmatch users add`)")
	prefix := fs.String("prefix", "/v3", "route `PREFIX` before /{project_id}/segments (\"\" as the original server)")
	pubKey := fs.String("jwt-public-key", "", "PEM `FILE` of an RSA public key: accept RS256 JWTs")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish at shutdown")
	af := authFlags(fs)
	leadLimits := leadLimitFlags(fs)
	corsOrigins := fs.String("cors-origins", "", "comma-separated browser `ORIGINS` (scheme://host[:port], https://*.example.com, or * for any) allowed to call the API from another site (default none; credentials only without *)")
	queryToken := fs.Bool("query-token", false, "accept a JWT as ?secret_token=<jwt> (as Tiledesk does) on requests without an Authorization header, over TLS (via a --trusted-proxy saying X-Forwarded-Proto: https) or from loopback only")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: segmatch serve [--addr HOST:PORT] [--data FILE | --pg DSN [--nats URL]] [--users FILE] [--prefix /v3] [--jwt-public-key FILE]")
		fmt.Fprintf(stderr, "JWTs signed HS256 are accepted when $%s holds the secret (at least %d bytes).\n", jwtSecretEnv, auth.MinSecretBytes)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "segmatch serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *pgDSN != "" && flagSet(fs, "data") {
		fmt.Fprintln(stderr, "segmatch serve: --data and --pg name two stores; give one")
		return exitUsage
	}
	if *natsURL != "" && *pgDSN == "" {
		fmt.Fprintln(stderr, "segmatch serve: --nats needs --pg (the PostgreSQL the workers write membership to)")
		return exitUsage
	}
	if p := *prefix; p != "" && (p[0] != '/' || strings.ContainsAny(p, "{} \t")) {
		fmt.Fprintf(stderr, "segmatch serve: --prefix %q: want a path such as /v3 (or \"\"), without braces or spaces\n", p)
		return exitUsage
	}
	origins, err := httpapi.ParseOrigins(*corsOrigins)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch serve: --cors-origins: %v\n", err)
		return exitUsage
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	default:
		fmt.Fprintf(stderr, "segmatch serve: --log-format %q: want text or json\n", *logFormat)
		return exitUsage
	}
	log := slog.New(handler)
	fail := func(msg string, err error) int {
		log.Error(msg, "err", err)
		return exitFailure
	}

	users, err := auth.LoadUsers(*usersPath)
	if errors.Is(err, iofs.ErrNotExist) {
		log.Error("loading users", "users", *usersPath, "err", err)
		fmt.Fprintf(stderr, "segmatch serve: there is no users file %s; create it with\n"+
			"  segmatch users add --users %s --email EMAIL --project PROJECT_ID --role agent\n"+
			"(the password on stdin), or name another with --users FILE\n", *usersPath, *usersPath)
		return exitFailure
	}
	if err != nil {
		return fail("loading users", err)
	}
	acfg, err := af.config(users)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch serve: %v\n", err)
		return exitUsage
	}
	acfg.QueryToken = *queryToken
	if s := os.Getenv(jwtSecretEnv); s != "" {
		acfg.JWTSecret = []byte(s)
	}
	if *pubKey != "" {
		k, err := loadRSAPublicKey(*pubKey)
		if err != nil {
			return fail("loading the JWT public key", err)
		}
		acfg.JWTPublic = k
	}
	authn, err := auth.New(acfg)
	if errors.Is(err, auth.ErrWeakSecret) {
		fmt.Fprintf(stderr, "segmatch serve: $%s has %d bytes; an HS256 secret needs at least %d random bytes (e.g. openssl rand -base64 48), or unset it to refuse HS256 tokens\n",
			jwtSecretEnv, len(acfg.JWTSecret), auth.MinSecretBytes)
		return exitFailure
	}
	if err != nil {
		return fail("configuring authentication", err)
	}

	var st store.Store
	if *pgDSN != "" {
		st, err = postgres.Open(ctx, *pgDSN, postgres.WithLimits(limits()))
	} else {
		st, err = bolt.Open(*data, bolt.WithLockTimeout(dataLockTimeout), bolt.WithLimits(limits()))
	}
	if err != nil {
		return fail("opening the store", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewBuildInfoCollector())
	cfg := httpapi.Config{Prefix: *prefix, Store: st, Auth: authn, Logger: log, LeadLimits: leadLimits(), Metrics: reg, CORSOrigins: origins}
	if *natsURL != "" {
		relay, closeRelay, err := openRelay(ctx, *natsURL, *stream, *pgDSN, cfg.LeadLimits)
		if err != nil {
			return fail("connecting to the workers", err)
		}
		defer closeRelay()
		cfg.Relay = relay
	}
	api := httpapi.New(cfg)
	defer api.Close() // stops the keeper it started, before the store closes

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail("listening", err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	// Event streams never end by themselves: at shutdown they are ended
	// so that Shutdown's wait for in-flight requests does not wait for them.
	srv.RegisterOnShutdown(api.Leads().CloseStreams)
	if cfg.Relay != nil {
		srv.RegisterOnShutdown(cfg.Relay.CloseStreams)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// Every project's audience index and engine is built from the store
	// in the background; a request to a project not built yet waits for
	// it. GET /readyz answers 200 once all are.
	go func() {
		start := time.Now()
		if err := api.Warm(ctx); err != nil {
			log.Error("loading the projects' leads", "err", err)
			return
		}
		log.Info("leads ready", "duration", time.Since(start))
	}()
	stopReload := reloadUsersOnHUP(hup, *usersPath, authn, log)
	defer stopReload()
	log.Info("listening", "addr", ln.Addr().String(), "data", *data, "users", users.Len(), "prefix", *prefix,
		"jwt_hs256", len(acfg.JWTSecret) > 0, "jwt_rs256", acfg.JWTPublic != nil, "cors_origins", len(origins), "query_token", acfg.QueryToken)

	select {
	case err := <-served:
		return fail("serving", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	code := exitOK
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("in-flight requests did not finish in time", "err", err)
		srv.Close()
		code = exitFailure
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serving", "err", err)
	}
	// The deferred calls close the API, the keeper and then the store.
	log.Info("stopped")
	return code
}

// leadLimitFlags adds the flags of the leads' limits (package leads).
func leadLimitFlags(fs *flag.FlagSet) func() leads.Limits {
	size := byteSize(leads.DefaultMaxLeadBytes)
	fs.Var(&size, "max-lead-bytes", "at most `SIZE` of JSON per lead (bytes, or with KiB, MiB); larger ones are refused (413)")
	bulk := fs.Int("max-bulk-leads", leads.DefaultMaxBulkLeads, "at most `N` leads per bulk request (0: no limit; beyond it: 400)")
	bulkBytes := byteSize(leads.DefaultMaxBulkBytes)
	fs.Var(&bulkBytes, "max-bulk-bytes", "at most `SIZE` of body per bulk request (0: no limit; beyond it: 413, the lines before applied)")
	project := fs.Int("max-project-leads", leads.DefaultMaxProjectLeads, "at most `N` leads per project (0: no limit; beyond it: 409)")
	window := fs.Int("event-window", leads.DefaultEventWindow, "keep each project's last `N` enter/exit events for streams resuming with Last-Event-ID")
	queue := fs.Int("stream-queue", leads.DefaultStreamQueue, "disconnect an event stream's client `N` events behind")
	projectBytes := byteSize(leads.DefaultMaxProjectBytes)
	fs.Var(&projectBytes, "max-project-lead-bytes", "at most `SIZE` of leads' JSON per project, all held in memory (beyond it: 409)")
	streams := fs.Int("max-streams", leads.DefaultMaxStreams, "at most `N` event streams open per project (0: no limit; beyond it: 429)")
	return func() leads.Limits {
		l := leads.Limits{MaxLeadBytes: int(size), MaxBulkLeads: *bulk, MaxProjectLeads: *project, EventWindow: *window, StreamQueue: *queue,
			MaxProjectBytes: int(projectBytes), MaxStreams: *streams, MaxBulkBytes: int64(bulkBytes)}
		if l.MaxBulkBytes <= 0 {
			l.MaxBulkBytes = -1
		}
		if l.MaxStreams <= 0 {
			l.MaxStreams = -1
		}
		if l.MaxBulkLeads <= 0 {
			l.MaxBulkLeads = -1
		}
		if l.MaxProjectLeads <= 0 {
			l.MaxProjectLeads = -1
		}
		if l.EventWindow <= 0 {
			l.EventWindow = -1
		}
		return l
	}
}

// loadRSAPublicKey reads a PEM RSA public key (PKIX or PKCS #1).
func loadRSAPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return jwt.ParseRSAPublicKeyFromPEM(b)
}

// flagSet reports whether the command line gave the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
