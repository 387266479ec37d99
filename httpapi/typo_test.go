package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTyposAndNameless: the API refuses what would silently widen an
// audience, at the JSON Pointer, saying what was probably meant; and a
// segment without a name, as every other entry point refuses one without
// an identity.
func TestTyposAndNameless(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		for body, want := range map[string]string{
			`{"name":"a","filter":[{"field":"country","operator":"=","value":"IT"}]}`:   `unknown key "filter" (did you mean "filters"?)`,
			`{"name":"a","filters":[{"field":"c","operator":"contians","value":"IT"}]}`: `unknown operator "contians" (did you mean "contains"?)`,
		} {
			r := f.do(req{method: "POST", path: segPath(p1), body: body, user: agent, ctype: "application/json"})
			require.Equal(t, http.StatusBadRequest, r.status, r.raw)
			errs, _ := r.json["errors"].([]any)
			require.Len(t, errs, 1, r.raw)
			assert.Contains(t, errs[0].(map[string]any)["message"], want, r.raw)
		}
		for _, doc := range cases.Nameless {
			r := f.do(req{method: "POST", path: segPath(p1), body: doc, user: agent, ctype: "application/json"})
			assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", doc, r.raw)
		}
		assert.EqualValues(t, 0, f.as(agent, "GET", segPath(p1), "").json["count"], "nothing was stored")
	})
}
