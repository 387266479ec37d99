package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/store/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const explainSeg = `{"name":"Italian buyers","match":"all","filters":[
  {"field":"attributes.country","operator":"=","value":"IT"},
  {"field":"orders.sku","operator":"starts_with","value":"PRO-"},
  {"match":"any","filters":[
    {"field":"tags","operator":"contains","value":"vip"},
    {"field":"orders","operator":"elem_match","value":{"filters":[{"field":"qty","operator":">=","value":3}]}}
  ]}
]}`

// TestExplain: /explain answers the evaluation tree of one contact, its
// result /match's, every condition at its pointer with the contact's
// value.
func TestExplain(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(explainSeg)
		contacts := []string{
			`{"attributes":{"country":"IT"},"orders":[{"sku":"PRO-1","qty":1},{"sku":"B","qty":4}]}`,
			`{"attributes":{"country":"IT"},"orders":[{"sku":"PRO-1","qty":1}],"tags":["lead"]}`,
			`{"attributes":{"country":"IT"},"orders":[{"sku":"PRO-1"}],"tags":["vip"]}`,
			`{"attributes":{"country":"FR"}}`,
			`{}`,
		}
		for _, contact := range contacts {
			r := f.as(agent, "POST", segPath(p1, id, "explain"), contact)
			require.Equal(t, http.StatusOK, r.status, r.raw)
			assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
			var x segmatch.Explanation
			require.NoError(t, json.Unmarshal([]byte(r.raw), &x))
			m := f.as(agent, "POST", segPath(p1, id, "match"), contact)
			require.Equal(t, http.StatusOK, m.status, m.raw)
			assert.Equal(t, m.json["match"], x.Matched, contact)
			assert.Equal(t, id, x.Segment)
			// every condition, at its pointer
			require.Len(t, x.Root.Filters, 3, r.raw)
			var pointers []string
			for _, f := range x.Root.Filters {
				if f.Condition != nil {
					pointers = append(pointers, f.Condition.Pointer)
					continue
				}
				for _, g := range f.Group.Filters {
					pointers = append(pointers, g.Condition.Pointer)
				}
			}
			assert.Equal(t, []string{"/filters/0", "/filters/1", "/filters/2/filters/0", "/filters/2/filters/1"}, pointers)
		}

		r := f.as(agent, "POST", segPath(p1, id, "explain"), contacts[0])
		var x segmatch.Explanation
		require.NoError(t, json.Unmarshal([]byte(r.raw), &x))
		assert.True(t, x.Matched)
		sku := x.Root.Filters[1].Condition
		assert.Equal(t, "orders.sku", sku.Field)
		assert.Equal(t, "starts_with", sku.Operator)
		assert.JSONEq(t, `"PRO-"`, string(sku.Value))
		assert.Equal(t, segmatch.FieldReading{Kind: "array", Value: json.RawMessage(`["PRO-1","B"]`), FanOut: true}, sku.Contact)
		vip := x.Root.Filters[2].Group.Filters[0].Condition
		assert.Equal(t, "missing", vip.Contact.Kind)
		assert.False(t, vip.Result)
		em := x.Root.Filters[2].Group.Filters[1].Condition
		assert.True(t, em.Result)
		require.NotNil(t, em.Elements)
		assert.Equal(t, []int{1}, em.Elements.Matched)
		assert.Equal(t, 2, em.Elements.Count)
	})
}

// TestExplainErrors: what /match refuses, /explain refuses alike; an
// array of contacts is /match's, not /explain's.
func TestExplainErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		for _, tc := range []struct {
			name, body, msg string
			paths           []string
		}{
			{"string", `"hello"`, "Invalid contact.", []string{""}},
			{"number", `3`, "Invalid contact.", []string{""}},
			{"null", `null`, "Invalid contact.", []string{""}},
			{"array", `[{"field1":"value1"}]`, "Invalid contact.", []string{""}},
			{"malformed", `{"a":`, "Malformed JSON.", nil},
			{"trailing", `{} {}`, "Malformed JSON.", nil},
			{"empty", ` `, "Malformed JSON.", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := f.as(agent, "POST", segPath(p1, id, "explain"), tc.body)
				require.Equal(t, http.StatusBadRequest, r.status, r.raw)
				assert.Equal(t, false, r.json["success"])
				assert.Equal(t, tc.msg, r.json["msg"])
				var got []string
				errs, _ := r.json["errors"].([]any)
				for _, e := range errs {
					m := e.(map[string]any)
					got = append(got, m["path"].(string))
					assert.Equal(t, "a contact is a JSON object", m["message"])
				}
				assert.Equal(t, tc.paths, got)
			})
		}

		// unknown and deleted segments: 404, before the body is read
		r := f.as(agent, "POST", segPath(p1, "65f1c0ffee0000000000a001", "explain"), `{}`)
		assert.Equal(t, http.StatusNotFound, r.status, r.raw)
		gone := f.create(seg1)
		require.Equal(t, http.StatusOK, f.as(agent, "DELETE", segPath(p1, gone), "").status)
		r = f.as(agent, "POST", segPath(p1, gone, "explain"), `{}`)
		assert.Equal(t, http.StatusNotFound, r.status, r.raw)
		r = f.as(agent, "POST", segPath(p1, "65f1c0ffee0000000000a001", "explain"), `junk`)
		assert.Equal(t, http.StatusNotFound, r.status, r.raw)

		// the media type and size rules of every body
		r = f.do(req{method: "POST", path: segPath(p1, id, "explain"), body: `{}`, ctype: "text/plain", user: agent})
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
		r = f.as(agent, "POST", segPath(p1, id, "explain"), `{"a":"`+strings.Repeat("x", httpapi.MaxBodyBytes)+`"}`)
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)

		// POST only, a JSON 405 naming it
		for _, m := range []string{"GET", "PUT", "DELETE", "PATCH"} {
			r := f.as(agent, m, segPath(p1, id, "explain"), "")
			assert.Equal(t, http.StatusMethodNotAllowed, r.status, m)
			assert.Equal(t, "POST", r.header.Get("Allow"), m)
			assert.Equal(t, false, r.json["success"], m)
		}
	})
}

// TestExplainAuth: /explain asks what /match asks: a member of the
// project with at least the agent role.
func TestExplainAuth(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	id := f.create(seg1)
	path := segPath(p1, id, "explain")
	r := f.do(req{method: "POST", path: path, body: `{}`})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.NotEmpty(t, r.header.Values("WWW-Authenticate"))
	r = f.do(req{method: "POST", path: path, body: `{}`, user: agent, pass: "wrong"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	for _, who := range []string{"user@f21.it", "out@f21.it", "bot@f21.it"} {
		m := f.as(who, "POST", segPath(p1, id, "match"), `{}`)
		x := f.as(who, "POST", path, `{}`)
		if who != "bot@f21.it" { // a bot passes the role check, as in Tiledesk
			assert.Equal(t, http.StatusForbidden, x.status, who)
			assert.Equal(t, m.json["msg"], x.json["msg"], who)
		}
		assert.Equal(t, m.status, x.status, who)
	}
	r = f.as("owner@f21.it", "POST", path, `{"field1":"value1"}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, true, r.json["matched"])
	// another project's segment is not found from p2
	r = f.as("owner@f21.it", "POST", segPath(p2, id, "explain"), `{}`)
	assert.Equal(t, http.StatusNotFound, r.status)
}

// TestExplainStoredSegmentBeyondBounds: a stored segment that no longer
// compiles is a 422 asking for an update, as on /match; a compiler panic
// is a 500.
func TestExplainStoredSegmentBeyondBounds(t *testing.T) {
	legacy := filter.Segment{ID: "65f1c0ffee0000000000dead", Name: "old", IDProject: p1, Status: filter.StatusActive,
		Filters: []filter.Filter{{Field: "note", Operator: "regex", Value: json.RawMessage(`"` + strings.Repeat("[^x]{999}", 100) + `"`)}}}
	f := newFixture(t, legacyStore{Store: memory.New(), legacy: legacy}, "/v3")
	r := f.as(agent, "POST", segPath(p1, legacy.ID, "explain"), `{"note":"x"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
	assert.Contains(t, r.json["msg"], "update it")
	m := f.as(agent, "POST", segPath(p1, legacy.ID, "match"), `{"note":"x"}`)
	assert.Equal(t, m.status, r.status)
	// a bad body is still the body's problem
	r = f.as(agent, "POST", segPath(p1, legacy.ID, "explain"), `[1]`)
	assert.Equal(t, http.StatusBadRequest, r.status, r.raw)

	var armed atomic.Bool
	compile := func(seg filter.Segment) (*segmatch.Program, error) {
		if armed.Load() {
			panic("compiler bug")
		}
		return segmatch.Compile(seg)
	}
	kf, _ := newKeeperFixture(t, memory.New(), httpapi.EngineBuild, compile)
	id := kf.create(seg1)
	armed.Store(true)
	require.Equal(t, http.StatusOK, kf.as(agent, "PUT", segPath(p1, id), `{"name":"segment1b"}`).status)
	r = kf.as(agent, "POST", segPath(p1, id, "explain"), `{"field1":"value1"}`)
	assert.Equal(t, http.StatusInternalServerError, r.status, r.raw)
}
