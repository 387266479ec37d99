package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// ErrBadOrigin: a CORS origin that is not "*" nor scheme://host[:port]
// (see ParseOrigins).
var ErrBadOrigin = errors.New("bad CORS origin")

// MaxOrigins bounds the CORS origins of one server (each request's
// Origin is compared with every one).
const MaxOrigins = 256

// CORS headers: what a browser app on another origin (Tiledesk's
// campaign dashboard) may send and read.
var (
	corsMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete}
	// corsHeaders: the credentials (Authorization: JWT or Basic), the JSON
	// bodies, the conditional PUT, the event stream's resumption, and what
	// Angular's HttpClient adds.
	corsHeaders = []string{"Accept", "Authorization", "Content-Type", "If-Match", "Last-Event-ID", "X-Requested-With", "X-XSRF-Token"}
	// corsExposed: the segment's version (for If-Match), when to retry,
	// and which credentials a 401 wants.
	corsExposed = []string{"ETag", "Retry-After", "WWW-Authenticate"}
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer.
const corsMaxAge = 600

// ParseOrigins reads the --cors-origins flag: comma-separated origins,
// each "*" (any origin) or scheme://host[:port] with scheme http or
// https and nothing after the host, where the host may begin with "*."
// (any subdomain: https://*.tiledesk.com). Blanks are skipped; "" is no
// origin at all. An invalid one is an error wrapping ErrBadOrigin that
// names it; more than MaxOrigins is one too.
func ParseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if len(out) > MaxOrigins {
		return nil, fmt.Errorf("%w: %d origins, at most %d", ErrBadOrigin, len(out), MaxOrigins)
	}
	return out, nil
}

// checkOrigin validates one origin of ParseOrigins.
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrBadOrigin, o, why) }
	u, err := url.Parse(strings.Replace(o, "://*.", "://wildcard.", 1))
	switch {
	case err != nil:
		return bad("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("want http:// or https://")
	case u.Host == "" || u.User != nil:
		return bad("want scheme://host[:port]")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return bad("an origin has no path, query or fragment (not even a trailing /)")
	case strings.Contains(u.Host, "*"):
		return bad(`"*" only as "*" alone or a leading "*." of the host`)
	}
	return nil
}

// withCORS wraps h with the CORS headers for origins (none: h itself,
// and a browser on another origin is refused its answers, as by default).
// An allowed origin gets Access-Control-Allow-Origin on every answer,
// errors included, and a preflight OPTIONS gets the methods and headers
// it asks for when they are among corsMethods and corsHeaders; the
// preflight then reaches the route's own OPTIONS (204 with Allow), so a
// path that does not exist stays a 404. Credentials (cookies, HTTP
// auth kept by the browser) are allowed only when every origin is
// explicit: with "*" any site could act as its visitor. Every answer
// varies by Origin.
func withCORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	every := false
	for _, o := range origins {
		every = every || o == "*"
	}
	return cors.New(cors.Options{
		AllowedOrigins:     origins,
		AllowedMethods:     corsMethods,
		AllowedHeaders:     corsHeaders,
		ExposedHeaders:     corsExposed,
		MaxAge:             corsMaxAge,
		AllowCredentials:   !every,
		OptionsPassthrough: true,
	}).Handler(h)
}
