package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/store/memory"
)

// oaDoc is the part of an OpenAPI document the tests read.
type oaDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type oaOperation struct {
	Responses   map[string]json.RawMessage `json:"responses"`
	RequestBody *struct {
		Content map[string]struct {
			Example json.RawMessage `json:"example"`
		} `json:"content"`
	} `json:"requestBody"`
}

var oaMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

func loadDoc(t *testing.T, raw []byte) oaDoc {
	t.Helper()
	var d oaDoc
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Equal(t, "3.1.0", d.OpenAPI)
	return d
}

// TestOpenAPIRoutes: every route New registers is in the document as
// that operation, and every operation of the document is a route.
func TestOpenAPIRoutes(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	d := loadDoc(t, httpapi.OpenAPIDoc)
	require.GreaterOrEqual(t, len(f.api.Routes()), 20)
	registered := map[string]bool{}
	for _, pat := range f.api.Routes() {
		if pat == "/" {
			continue // the JSON 404 for every other path
		}
		method, path, ok := strings.Cut(pat, " ")
		require.True(t, ok, "route %q serves every method", pat)
		item, ok := d.Paths[path]
		if !assert.True(t, ok, "route %q: path not in openapi.json", pat) {
			continue
		}
		_, ok = item[strings.ToLower(method)]
		assert.True(t, ok, "route %q: no %s operation in openapi.json", pat, method)
		registered[strings.ToLower(method)+" "+path] = true
	}
	for path, item := range d.Paths {
		for m := range item {
			if slices.Contains(oaMethods, m) {
				assert.True(t, registered[m+" "+path], "openapi.json: %s %s is not a route", m, path)
			}
		}
	}

	// Every $ref resolves.
	var whole any
	require.NoError(t, json.Unmarshal(httpapi.OpenAPIDoc, &whole))
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				var at any = whole
				for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := at.(map[string]any)
					at = m[tok]
				}
				assert.NotNil(t, at, "$ref %s does not resolve", ref)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(whole)
}

// TestOpenAPIServed: /openapi.json, without credentials, names the
// server's own prefix.
func TestOpenAPIServed(t *testing.T) {
	for _, prefix := range []string{"/v3", ""} {
		f := newFixture(t, memory.New(), prefix)
		r := f.do(req{method: "GET", path: "/openapi.json"})
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Contains(t, r.header.Get("Content-Type"), "application/json")
		d := loadDoc(t, []byte(r.raw))
		assert.Contains(t, d.Paths, prefix+"/{project_id}/segments/{id}/match", prefix)
		assert.Contains(t, d.Paths, "/healthz")
		assert.Len(t, d.Paths, len(loadDoc(t, httpapi.OpenAPIDoc).Paths))
	}
}

// TestOpenAPIExamples sends every request example of the document to
// the server: each is accepted, with a status the operation documents.
func TestOpenAPIExamples(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	d := loadDoc(t, httpapi.OpenAPIDoc)
	seg := f.create(`{"name":"it","filters":[{"field":"country","operator":"=","value":"IT"}]}`)
	n := 0
	for path, item := range d.Paths {
		for m, raw := range item {
			if !slices.Contains(oaMethods, m) {
				continue
			}
			var op oaOperation
			require.NoError(t, json.Unmarshal(raw, &op), path)
			if op.RequestBody == nil {
				continue
			}
			for ctype, c := range op.RequestBody.Content {
				require.NotEmpty(t, c.Example, "%s %s: no example", m, path)
				body := string(c.Example)
				if ctype != "application/json" {
					var s string
					require.NoError(t, json.Unmarshal(c.Example, &s), "%s %s: a %s example is a string", m, path, ctype)
					body = s
				}
				p := strings.NewReplacer("{project_id}", p1, "{id}", seg).Replace(path)
				if strings.Contains(path, "/leads/{id}") {
					p = strings.Replace(path, "{project_id}", p1, 1)
					p = strings.Replace(p, "{id}", "lead-1", 1)
				}
				r := f.do(req{method: strings.ToUpper(m), path: p, body: body, ctype: ctype, user: agent})
				assert.Less(t, r.status, 300, "%s %s: %s", m, path, r.raw)
				assert.Contains(t, op.Responses, strconv.Itoa(r.status), "%s %s answered an undocumented %d", m, path, r.status)
				n++
			}
		}
	}
	assert.GreaterOrEqual(t, n, 8)
}
