package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// allowOptions answers OPTIONS on a path of the API: 204 with Allow
// naming its methods (RFC 9110 §9.3.7), without credentials, as a
// browser's CORS preflight comes (withCORS adds the Access-Control-*
// headers). Tiledesk answered every OPTIONS through the cors package;
// here a path that is no route stays a 404.
type allowOptions string

func (a allowOptions) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", string(a))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// routeOptions registers "OPTIONS path" for every path that m serves,
// its Allow naming the path's methods (HEAD with GET, which the mux
// serves too) and OPTIONS.
func routeOptions(m *routeMux) {
	methods := map[string][]string{}
	var paths []string
	for _, pat := range m.patterns {
		method, path, ok := strings.Cut(pat, " ")
		if !ok {
			continue // the catch-all "/"
		}
		if _, seen := methods[path]; !seen {
			paths = append(paths, path)
		}
		methods[path] = append(methods[path], method)
		if method == http.MethodGet {
			methods[path] = append(methods[path], http.MethodHead)
		}
	}
	for _, path := range paths {
		ms := append(methods[path], http.MethodOptions)
		slices.SortStableFunc(ms, func(a, b string) int { return methodOrder(a) - methodOrder(b) })
		m.Handle(http.MethodOptions+" "+path, allowOptions(strings.Join(slices.Compact(ms), ", ")))
	}
}

// methodOrder lists methods in the order the 405s' Allow do.
func methodOrder(m string) int {
	return slices.Index([]string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}, m)
}

// stripSlash serves a path with one trailing slash as the path without
// it (/segments/ as /segments), as the original's Express router does
// (non-strict routing), for every route. "/" stays "/"; an escaped
// slash (%2F) is part of what it ends.
func stripSlash(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The slash as written: an escaped one (%2F) ends an id, not the path.
		if ep := r.URL.EscapedPath(); len(ep) <= 1 || ep[len(ep)-1] != '/' {
			h.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = strings.TrimSuffix(u.Path, "/")
		if u.RawPath != "" {
			u.RawPath = strings.TrimSuffix(u.RawPath, "/")
		}
		r2.URL = &u
		h.ServeHTTP(w, r2)
	})
}
