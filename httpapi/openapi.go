package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// openapiDoc is the OpenAPI 3.1 document of the whole API, with the
// default prefix /v3; GET /openapi.json serves it with the API's own.
// A test checks that every route New registers is in it.
//
//go:embed openapi.json
var openapiDoc []byte

// docPrefix is the prefix the document's paths are written with.
const docPrefix = "/v3"

// openAPI is the document with its paths under prefix.
func openAPI(prefix string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	var paths map[string]json.RawMessage
	if err := json.Unmarshal(doc["paths"], &paths); err != nil {
		return nil, fmt.Errorf("openapi.json paths: %w", err)
	}
	out := make(map[string]json.RawMessage, len(paths))
	for p, v := range paths {
		if rest, ok := strings.CutPrefix(p, docPrefix+"/"); ok {
			p = prefix + "/" + rest
		}
		out[p] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	doc["paths"] = b
	return json.Marshal(doc)
}

// openapi serves the document (built once, in New).
func (a *API) openapi(w http.ResponseWriter, _ *http.Request) {
	if a.openapiJSON == nil {
		writeError(w, nil, fmt.Errorf("openapi.json did not load"))
		return
	}
	writeRaw(w, http.StatusOK, a.openapiJSON)
}

// routeMux is a ServeMux that remembers the patterns registered on it
// that serve (not the JSON 405s of allowOnly), for the test that the
// OpenAPI document names every route.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	if _, refusal := h.(allowOnly); !refusal {
		m.patterns = append(m.patterns, pattern)
	}
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}
