package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// recorder remembers what a handler answered, for the request log: the
// status, the size, the caller and, for a 500, the internal error that
// the client is not told.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	user   string
	err    error
	// failure is the error the request was answered with (for the
	// metrics' auth failures and rate limits).
	failure error
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// maxLoggedPath bounds the path in a log line (ids may be 10 KB of junk).
const maxLoggedPath = 256

// logRequests writes one structured log line per request and turns a
// panic into a logged 500 "internal error".
func (a *API) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				rw.err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				if rw.status == 0 {
					writeJSON(rw, http.StatusInternalServerError, errorBody{Msg: "internal error"})
				}
			}
			path := r.URL.Path
			if len(path) > maxLoggedPath {
				path = path[:maxLoggedPath] + "..."
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", path),
				slog.String("route", r.Pattern),
				slog.Int("status", rw.status),
				slog.Int64("bytes", rw.bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote", r.RemoteAddr),
			}
			if rw.user != "" {
				attrs = append(attrs, slog.String("user", rw.user))
			}
			level := slog.LevelInfo
			if rw.status >= 500 {
				level = slog.LevelError
				if rw.err != nil {
					attrs = append(attrs, slog.String("err", rw.err.Error()))
				}
			}
			a.log.LogAttrs(r.Context(), level, "request", attrs...)
			a.metrics.request(r, rw, time.Since(start))
		}()
		next.ServeHTTP(rw, r)
	})
}

// call is an authenticated, authorised request on a project.
type call struct {
	project string
	who     *auth.Principal
}

// project authenticates the caller, checks its role in the path's
// project, and runs h; h's error is answered through the status table.
func (a *API) project(h func(http.ResponseWriter, *http.Request, call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := a.auth.Authenticate(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if rw, ok := w.(*recorder); ok {
			rw.user = who.ID
		}
		c := call{project: r.PathValue("project_id"), who: who}
		if err := who.Allow(c.project, a.minRole); err != nil {
			writeError(w, r, err)
			return
		}
		if err := h(w, r, c); err != nil {
			writeError(w, r, err)
		}
	})
}

// writeError answers err through the status table.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := classify(err)
	if status == http.StatusUnauthorized {
		w.Header().Add("WWW-Authenticate", `Basic realm="segmatch", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="segmatch"`)
	}
	if rw, ok := w.(*recorder); ok {
		rw.failure = err
		if status >= 500 {
			rw.err = err
		}
	}
	// An error that knows when a retry may succeed (auth.LimitError)
	// says so, in whole seconds rounded up.
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(max(1, (ra.RetryAfter()+time.Second-1)/time.Second)), 10))
	}
	writeJSON(w, status, body)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		if rw, ok := w.(*recorder); ok {
			rw.err = fmt.Errorf("encoding the answer: %w", err)
		}
		status, b = http.StatusInternalServerError, []byte(`{"success":false,"msg":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// readJSON reads a request body that must be application/json and at
// most MaxBodyBytes.
func readJSON(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errMediaType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, fmt.Errorf("%w: reading the body: %v", errBadJSON, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", errBadJSON)
	}
	return body, nil
}

// decodeContacts reads a body holding one contact object or an array of
// them. single reports which.
func decodeContacts(body []byte) (contacts []map[string]any, single bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("%w: %v", errBadJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, fmt.Errorf("%w: data after the JSON value", errBadJSON)
	}
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}, true, nil
	case []any:
		contacts = make([]map[string]any, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false, &contactError{path: fmt.Sprintf("/%d", i)}
			}
			contacts[i] = m
		}
		return contacts, false, nil
	}
	return nil, false, &contactError{path: ""}
}

// etag is a segment's entity tag: its updatedAt, which strictly grows at
// every write.
func etag(updatedAt time.Time) string {
	return `"` + updatedAt.UTC().Format(timeLayout) + `"`
}

// parseIfMatch reads an If-Match header: the ETag this API emits, or the
// bare updatedAt. Absent or "*" is no condition (the zero time); a weak
// ETag (W/"...") is errWeakIfMatch.
func parseIfMatch(h string) (time.Time, error) {
	v := strings.TrimSpace(h)
	if v == "" || v == "*" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(v, "W/") {
		// A weak entity tag never matches If-Match (RFC 9110 §13.1.1
		// compares strongly): the precondition fails.
		return time.Time{}, errWeakIfMatch
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errBadIfMatch
	}
	return t, nil
}
