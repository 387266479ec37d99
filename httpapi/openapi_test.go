package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"
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
// Before it is sent, each example is validated against the document (see
// oaValidator): its body against the operation's schema by a JSON Schema
// 2020-12 validator, the request (path, parameters, content type) by
// kin-openapi's openapi3filter; and the server's answer against the
// schema documented for its status and content type.
func TestOpenAPIExamples(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	d := loadDoc(t, httpapi.OpenAPIDoc)
	v := newOAValidator(t, httpapi.OpenAPIDoc)
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
				assert.NoError(t, v.body(path, m, ctype, c.Example), "%s %s: the %s example does not validate against its schema", m, path, ctype)
				assert.NoError(t, v.request(strings.ToUpper(m), p, ctype, body), "%s %s: the %s example is not a request the document describes", m, path, ctype)
				r := f.do(req{method: strings.ToUpper(m), path: p, body: body, ctype: ctype, user: agent})
				assert.Less(t, r.status, 300, "%s %s: %s", m, path, r.raw)
				assert.Contains(t, op.Responses, strconv.Itoa(r.status), "%s %s answered an undocumented %d", m, path, r.status)
				assert.NoError(t, v.response(path, m, r.status, r.header.Get("Content-Type"), r.raw), "%s %s: the answer %d does not validate against its schema: %s", m, path, r.status, r.raw)
				n++
			}
		}
	}
	assert.GreaterOrEqual(t, n, 8)
}

// oaValidator checks requests and answers against openapi.json with real
// validators, so that an example, a schema or the server drifting apart
// fails:
//
//   - kin-openapi (v0.153.0 reads OpenAPI 3.1) loads the document and
//     validates it (structure, $refs, parameters, security schemes), and
//     its openapi3filter.ValidateRequest checks each example request:
//     the route, the path and query parameters against their schemas and
//     the content type against the operation's. The body is left to
//     the next point: kin-openapi falls back to its OpenAPI 3.0 validator
//     for a schema with a $ref and no 2020-12 keyword, and that refuses
//     null in an enum (SegmentUpdate's "match": {"enum": ["all", "any",
//     null]}), which JSON Schema 2020-12 and so OpenAPI 3.1 accept.
//   - santhosh-tekuri/jsonschema (v6, Draft 2020-12; what kin-openapi
//     uses for 3.1) validates each example body and each answer against
//     the schema the document gives them, $refs resolved in the document.
type oaValidator struct {
	t      *testing.T
	doc    any // the document as JSON
	router routers.Router
	schema *jsonschema.Compiler
}

func newOAValidator(t *testing.T, raw []byte) *oaValidator {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err, "kin-openapi loads openapi.json")
	require.True(t, doc.IsOpenAPI31OrLater())
	// examples are validated by the 2020-12 validator (see above)
	require.NoError(t, doc.Validate(context.Background(), openapi3.DisableExamplesValidation()), "kin-openapi validates openapi.json")
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	require.NoError(t, err)
	v := &oaValidator{t: t, router: router, schema: jsonschema.NewCompiler()}
	require.NoError(t, json.Unmarshal(raw, &v.doc))
	v.schema.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, v.schema.AddResource("openapi.json", v.doc))
	return v
}

// pointer is the JSON Pointer of the tokens, each escaped.
func pointer(tokens ...string) string {
	r := strings.NewReplacer("~", "~0", "/", "~1")
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteString("/" + r.Replace(tok))
	}
	return b.String()
}

// at is the value at ptr in the document, or nil.
func (v *oaValidator) at(ptr string) any {
	var at any = v.doc
	r := strings.NewReplacer("~1", "/", "~0", "~")
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, _ := at.(map[string]any)
		at = m[r.Replace(tok)]
	}
	return at
}

// validate checks the JSON value (a decoded any, or raw JSON) against the
// schema at ptr.
func (v *oaValidator) validate(ptr string, value any) error {
	if raw, ok := value.(json.RawMessage); ok {
		var err error
		if value, err = jsonschema.UnmarshalJSON(bytes.NewReader(raw)); err != nil {
			return err
		}
	}
	sch, err := v.schema.Compile("openapi.json#" + ptr)
	if err != nil {
		return fmt.Errorf("compiling the schema at %s: %w", ptr, err)
	}
	return sch.Validate(value)
}

// body validates a request example against its operation's schema.
func (v *oaValidator) body(path, method, ctype string, example json.RawMessage) error {
	return v.validate(pointer("paths", path, method, "requestBody", "content", ctype, "schema"), example)
}

// request checks a request against the document with openapi3filter:
// route, parameters, content type (the body: see body).
func (v *oaValidator) request(method, path, ctype, body string) error {
	hr, err := http.NewRequest(method, path, strings.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", ctype)
	route, params, err := v.router.FindRoute(hr)
	if err != nil {
		return err
	}
	if op := route.Operation; op.RequestBody != nil && op.RequestBody.Value.Content.Get(ctype) == nil {
		return fmt.Errorf("the operation takes no %s body", ctype)
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: hr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

// response validates an answer against the schema the operation documents
// for its status and content type (a response may be a $ref to
// components/responses).
func (v *oaValidator) response(path, method string, status int, ctype, raw string) error {
	ptr := pointer("paths", path, method, "responses", strconv.Itoa(status))
	if m, ok := v.at(ptr).(map[string]any); ok {
		if ref, ok := m["$ref"].(string); ok {
			ptr = strings.TrimPrefix(ref, "#")
		}
	} else {
		return fmt.Errorf("status %d is not documented", status)
	}
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	ptr += pointer("content", mt, "schema")
	if v.at(ptr) == nil {
		return fmt.Errorf("no %s schema documented for status %d", mt, status)
	}
	return v.validate(ptr, json.RawMessage(raw))
}

// TestOpenAPIValidatorBites: the validators of TestOpenAPIExamples refuse
// examples and answers that drifted from the document.
func TestOpenAPIValidatorBites(t *testing.T) {
	v := newOAValidator(t, httpapi.OpenAPIDoc)
	seg, one := "/v3/{project_id}/segments", "/v3/{project_id}/segments/{id}"
	for _, tc := range []struct {
		path, method, body string
	}{
		{seg, "post", `{"name": "x", "filters": "country = IT"}`},                       // filters is an array
		{seg, "post", `{"name": "x", "match": "most"}`},                                 // match is all or any
		{seg, "post", `{"name": 7}`},                                                    // name is a string
		{seg, "post", `{"filters": [{"field": "country", "negate": "yes"}]}`},           // negate is a boolean (a $ref'd Filter)
		{seg, "post", `{"filters": [{"filters": [{"ignore_case": 1}]}]}`},               // ... at any depth
		{one, "put", `{"match": "some"}`},                                               // all, any or null
		{one, "put", `{"filters": {"field": "country"}}`},                               // an array or null
		{"/v3/{project_id}/leads/{id}", "put", `["a lead is an object"]`},               // Lead is an object
		{"/v3/{project_id}/segments/{id}/explain", "post", `[{"country": "IT"}]`},       // one contact, not a list
		{"/v3/{project_id}/segments/classify", "post", `"a contact or a list of them"`}, // neither
	} {
		assert.Error(t, v.body(tc.path, tc.method, "application/json", json.RawMessage(tc.body)), "%s %s %s", tc.method, tc.path, tc.body)
	}
	assert.NoError(t, v.body(one, "put", "application/json", json.RawMessage(`{"name": null, "match": null, "filters": null}`)), "null is as absent")

	assert.Error(t, v.request("POST", "/v3/p1/segments/nope/deeper", "application/json", `{}`), "no such route")
	assert.Error(t, v.request("POST", "/v3/p1/segments", "text/plain", `x`), "not a content type of the operation")
	assert.Error(t, v.request("GET", "/v3/p1/segments?limit=0", "", ""), "limit is at least 1")
	assert.Error(t, v.request("GET", "/v3/p1/segments?page=first", "", ""), "page is an integer")
	assert.NoError(t, v.request("GET", "/v3/p1/segments?limit=5&page=0", "", ""))

	assert.Error(t, v.response(seg, "post", 200, "application/json", `{"_id": 5}`), "an answer that drifted from Segment")
	assert.Error(t, v.response(seg, "post", 400, "application/json", `{"success": true, "msg": "x"}`), "Error's success is false")
	assert.Error(t, v.response(seg, "post", 299, "application/json", `{}`), "an undocumented status")

	// A schema that drifted from the examples: Filter's operator made a
	// number, so the POST example (through SegmentDefinition's $ref to
	// Filter) no longer validates.
	var whole map[string]any
	require.NoError(t, json.Unmarshal(httpapi.OpenAPIDoc, &whole))
	filter := whole["components"].(map[string]any)["schemas"].(map[string]any)["Filter"].(map[string]any)
	filter["properties"].(map[string]any)["operator"] = map[string]any{"type": "number"}
	drifted, err := json.Marshal(whole)
	require.NoError(t, err)
	example := v.at(pointer("paths", seg, "post", "requestBody", "content", "application/json", "example"))
	require.NotNil(t, example)
	assert.NoError(t, v.body(seg, "post", "application/json", mustJSON(t, example)))
	assert.Error(t, newOAValidator(t, drifted).body(seg, "post", "application/json", mustJSON(t, example)))
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return raw
}
