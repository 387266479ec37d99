package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/store/memory"
)

const seg1 = `{"name":"segment1","filters":[{"field":"field1","operator":"=","value":"value1"}]}`

func TestCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		// Create: the server sets id, project, creator, times, status;
		// the body's own values for them are ignored.
		r := f.as(agent, "POST", segPath(p1), `{"name":"segment1","match":"any","createdBy":"mallory","id_project":"`+p2+`","_id":"65f1c0ffee0000000000a001",
			"filters":[{"field":"field1","operator":"=","value":"value1"},{"field":"tags","operator":"contains","value":"vip"}]}`)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		id := r.json["_id"].(string)
		assert.Len(t, id, 24)
		assert.NotEqual(t, "65f1c0ffee0000000000a001", id)
		assert.Equal(t, id, r.json["id"])
		assert.Equal(t, p1, r.json["id_project"])
		assert.Equal(t, "u-agent", r.json["createdBy"])
		assert.Equal(t, "any", r.json["match"])
		assert.EqualValues(t, 100, r.json["status"])
		assert.Equal(t, r.json["createdAt"], r.json["updatedAt"])
		_, err := time.Parse(time.RFC3339, r.json["createdAt"].(string))
		require.NoError(t, err)
		assert.Equal(t, `"`+r.json["updatedAt"].(string)+`"`, r.header.Get("ETag"))
		assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))

		// Read.
		g := f.as(agent, "GET", segPath(p1, id), "")
		require.Equal(t, http.StatusOK, g.status)
		assert.Equal(t, r.json, g.json)

		// List: Tiledesk's shape, newest first by default.
		id2 := f.create(`{"name":"b","filters":[]}`)
		id3 := f.create(`{"name":"a"}`)
		l := f.as(agent, "GET", segPath(p1), "")
		require.Equal(t, http.StatusOK, l.status, l.raw)
		assert.EqualValues(t, 40, l.json["perPage"])
		assert.EqualValues(t, 3, l.json["count"])
		assert.Equal(t, []string{id3, id2, id}, ids(l.json["segments"]))
		l = f.as(agent, "GET", segPath(p1)+"?limit=2&page=1&sort=createdAt&direction=-1", "")
		assert.EqualValues(t, 2, l.json["perPage"])
		assert.EqualValues(t, 3, l.json["count"])
		assert.Equal(t, []string{id}, ids(l.json["segments"]))
		l = f.as(agent, "GET", segPath(p1)+"?sort=name&direction=1", "")
		assert.Equal(t, []string{id3, id2, id}, ids(l.json["segments"]))
		l = f.as(agent, "GET", segPath(p2), "") // owner is an agent of p2 too, but p2 is empty
		assert.Equal(t, http.StatusForbidden, l.status, "the agent is not in p2")
		l = f.as("owner@f21.it", "GET", segPath(p2), "")
		require.Equal(t, http.StatusOK, l.status)
		assert.EqualValues(t, 0, l.json["count"])
		assert.Equal(t, []string{}, ids(l.json["segments"]))

		// Update: only the fields given change; If-Match guards it.
		etag := g.header.Get("ETag")
		u := f.do(req{method: "PUT", path: segPath(p1, id), user: agent, body: `{"name":"renamed"}`, header: map[string]string{"If-Match": etag}})
		require.Equal(t, http.StatusOK, u.status, u.raw)
		assert.Equal(t, "renamed", u.json["name"])
		assert.Equal(t, "any", u.json["match"])
		assert.Equal(t, r.json["filters"], u.json["filters"])
		assert.Equal(t, r.json["createdAt"], u.json["createdAt"])
		assert.NotEqual(t, r.json["updatedAt"], u.json["updatedAt"])
		// The same (now stale) ETag: 409, nothing changes.
		c := f.do(req{method: "PUT", path: segPath(p1, id), user: agent, body: `{"name":"lost"}`, header: map[string]string{"If-Match": etag}})
		assert.Equal(t, http.StatusConflict, c.status)
		assert.Equal(t, false, c.json["success"])
		// The bare updatedAt works as well.
		u2 := f.do(req{method: "PUT", path: segPath(p1, id), user: agent,
			body:   `{"match":"all","filters":[{"field":"x","operator":"is set"}]}`,
			header: map[string]string{"If-Match": u.json["updatedAt"].(string)}})
		require.Equal(t, http.StatusOK, u2.status, u2.raw)
		assert.Equal(t, "renamed", u2.json["name"])
		assert.Equal(t, "all", u2.json["match"])
		bad := f.do(req{method: "PUT", path: segPath(p1, id), user: agent, body: `{"name":"x"}`, header: map[string]string{"If-Match": "yesterday"}})
		assert.Equal(t, http.StatusBadRequest, bad.status)
		assert.Equal(t, "renamed", f.as(agent, "GET", segPath(p1, id), "").json["name"])

		// Delete: soft, answers the segment with status 0; then gone.
		d := f.as(agent, "DELETE", segPath(p1, id), "")
		require.Equal(t, http.StatusOK, d.status, d.raw)
		assert.EqualValues(t, 0, d.json["status"])
		assert.Equal(t, id, d.json["_id"])
		for _, m := range []string{"GET", "DELETE"} {
			nf := f.as(agent, m, segPath(p1, id), "")
			assert.Equal(t, http.StatusNotFound, nf.status, m)
			assert.Equal(t, map[string]any{"success": false, "msg": "Object not found."}, nf.json)
		}
		nf := f.as(agent, "PUT", segPath(p1, id), `{"name":"zombie"}`)
		assert.Equal(t, http.StatusNotFound, nf.status)
		assert.EqualValues(t, 2, f.as(agent, "GET", segPath(p1), "").json["count"])
	})
}

func ids(v any) []string {
	out := []string{}
	for _, s := range v.([]any) {
		out = append(out, s.(map[string]any)["_id"].(string))
	}
	return out
}

func TestValidationErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		for _, tc := range []struct {
			name, method, path, body string
			msg                      string
			paths                    []string
		}{
			{"malformed", "POST", segPath(p1), `{"name": "x",`, "Malformed JSON.", []string{""}},
			{"not an object", "POST", segPath(p1), `[1,2]`, "Invalid segment.", []string{""}},
			{"bad operator", "POST", segPath(p1), `{"name":"x","filters":[{"field":"a","operator":"frobs","value":1}]}`, "Invalid segment.", []string{"/filters/0/operator"}},
			{"typo key", "POST", segPath(p1), `{"name":"x","filters":[{"field":"a","opertor":"=","value":1}]}`, "Invalid segment.", nil},
			{"no name", "POST", segPath(p1), `{"filters":[]}`, "Invalid segment.", []string{"/name"}},
			{"top-level typo", "POST", segPath(p1), `{"name":"a","filter":[{"field":"country","operator":"=","value":"IT"}]}`, "Invalid segment.", []string{"/filter"}},
			{"top-level typo matc", "POST", segPath(p1), `{"name":"a","matc":"any","filters":[]}`, "Invalid segment.", []string{"/matc"}},
			{"put top-level typo", "PUT", segPath(p1, id), `{"filter":[]}`, "Invalid segment.", []string{"/filter"}},
			{"bad match", "POST", segPath(p1), `{"name":"x","match":"some"}`, "Invalid segment.", []string{"/match"}},
			{"two problems", "POST", segPath(p1), `{"name":"x","filters":[{"field":"a","operator":"regex","value":"("},{"field":"b","operator":"in","value":3}]}`, "Invalid segment.", []string{"/filters/0/value", "/filters/1/value"}},
			{"put bad operator", "PUT", segPath(p1, id), `{"filters":[{"field":"a","operator":"nope","value":1}]}`, "Invalid segment.", []string{"/filters/0/operator"}},
			{"put malformed", "PUT", segPath(p1, id), `{`, "Malformed JSON.", []string{""}},
			{"put empty name", "PUT", segPath(p1, id), `{"name":""}`, "Invalid segment.", []string{"/name"}},
			{"limit 0", "GET", segPath(p1) + "?limit=0", "", "Invalid parameter.", []string{"limit"}},
			{"limit abc", "GET", segPath(p1) + "?limit=abc", "", "Invalid parameter.", []string{"limit"}},
			{"limit huge", "GET", segPath(p1) + "?limit=5000", "", "Invalid parameter.", []string{"limit"}},
			{"page -1", "GET", segPath(p1) + "?page=-1", "", "Invalid parameter.", []string{"page"}},
			{"sort", "GET", segPath(p1) + "?sort=password", "", "Invalid parameter.", []string{"sort"}},
			{"direction", "GET", segPath(p1) + "?direction=2", "", "Invalid parameter.", []string{"direction"}},
			{"repeated", "GET", segPath(p1) + "?limit=1&limit=2", "", "Invalid parameter.", []string{"limit"}},
			{"match not contact", "POST", segPath(p1, id, "match"), `"hello"`, "Invalid contact.", []string{""}},
			{"match array of junk", "POST", segPath(p1, id, "match"), `[{}, 3]`, "Invalid contact.", []string{"/1"}},
			{"match malformed", "POST", segPath(p1, id, "match"), `{"a":`, "Malformed JSON.", nil},
			{"match trailing", "POST", segPath(p1, id, "match"), `{} {}`, "Malformed JSON.", nil},
			{"classify junk", "POST", segPath(p1, "classify"), `[null]`, "Invalid contact.", []string{"/0"}},
			{"classify empty", "POST", segPath(p1, "classify"), ` `, "Malformed JSON.", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := f.do(req{method: tc.method, path: tc.path, body: tc.body, user: agent, ctype: "application/json"})
				require.Equal(t, http.StatusBadRequest, r.status, r.raw)
				assert.Equal(t, false, r.json["success"])
				if tc.msg != "" {
					assert.Equal(t, tc.msg, r.json["msg"])
				}
				var got []string
				errs, _ := r.json["errors"].([]any)
				for _, e := range errs {
					m := e.(map[string]any)
					got = append(got, m["path"].(string))
					assert.NotEmpty(t, m["message"])
				}
				if tc.paths != nil {
					assert.Equal(t, tc.paths, got)
				} else {
					assert.NotContains(t, r.raw, "goroutine")
				}
			})
		}
		// Nothing invalid was stored, and the segment is unchanged.
		l := f.as(agent, "GET", segPath(p1), "")
		assert.EqualValues(t, 1, l.json["count"])
		assert.Equal(t, "segment1", f.as(agent, "GET", segPath(p1, id), "").json["name"])
	})
}

func TestMatchAndClassify(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		it := f.create(`{"name":"Italians","filters":[{"field":"attributes.country","operator":"=","value":"IT"}]}`)
		vip := f.create(`{"name":"VIP","filters":[{"field":"tags","operator":"contains","value":"vip"}]}`)
		contacts := `[{"lead_id":"1","attributes":{"country":"IT"},"tags":["vip"]},{"lead_id":"2","attributes":{"country":"FR"}},{"lead_id":"3","tags":["vip"]}]`

		r := f.as(agent, "POST", segPath(p1, it, "match"), contacts)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.JSONEq(t, `{"matches":[true,false,false]}`, r.raw)
		r = f.as(agent, "POST", segPath(p1, it, "match"), `{"attributes":{"country":"IT"}}`)
		assert.JSONEq(t, `{"match":true}`, r.raw)
		r = f.as(agent, "POST", segPath(p1, it, "match"), `[]`)
		assert.JSONEq(t, `{"matches":[]}`, r.raw)
		r = f.as(agent, "POST", segPath(p1, "65f1c0ffee0000000000a001", "match"), `{}`)
		assert.Equal(t, http.StatusNotFound, r.status)

		r = f.as(agent, "POST", segPath(p1, "classify"), contacts)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.JSONEq(t, fmt.Sprintf(`{"results":[{"segments":[%q,%q]},{"segments":[]},{"segments":[%q]}]}`, it, vip, vip), r.raw)
		r = f.as(agent, "POST", segPath(p1, "classify"), `{"tags":["vip"]}`)
		assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q]}`, vip), r.raw)

		// Classify reflects every write at once: update, create, delete.
		u := f.as(agent, "PUT", segPath(p1, vip), `{"filters":[{"field":"tags","operator":"contains","value":"gold"}]}`)
		require.Equal(t, http.StatusOK, u.status)
		all := f.create(`{"name":"everyone"}`)
		r = f.as(agent, "POST", segPath(p1, "classify"), `{"tags":["vip"]}`)
		assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q]}`, all), r.raw)
		require.Equal(t, http.StatusOK, f.as(agent, "DELETE", segPath(p1, all), "").status)
		r = f.as(agent, "POST", segPath(p1, "classify"), `{"tags":["gold"]}`)
		assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q]}`, vip), r.raw)

		// A write straight to the store (another writer) arrives through
		// the change feed.
		seg, err := f.st.Create(t.Context(), p1, "u-other", mustSeg(t, `{"name":"direct"}`))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			r := f.as(agent, "POST", segPath(p1, "classify"), `{}`)
			return strings.Contains(r.raw, seg.ID)
		}, 5*time.Second, 10*time.Millisecond)

		// Another project's segments never show up.
		r = f.as("owner@f21.it", "POST", segPath(p2, "classify"), `{"tags":["gold"]}`)
		assert.JSONEq(t, `{"segments":[]}`, r.raw)
	})
}

func TestRequestErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		// 415: a body that is not application/json.
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "garbage;;"} {
			r := f.do(req{method: "POST", path: segPath(p1), body: seg1, ctype: ct, user: agent})
			assert.Equal(t, http.StatusUnsupportedMediaType, r.status, ct)
			assert.Equal(t, false, r.json["success"])
		}
		r := f.do(req{method: "POST", path: segPath(p1), body: seg1, ctype: "application/json; charset=utf-8", user: agent})
		assert.Equal(t, http.StatusOK, r.status)
		hr, _ := http.NewRequest("POST", f.srv.URL+segPath(p1), strings.NewReader(seg1))
		hr.SetBasicAuth(agent, password)
		res, err := http.DefaultClient.Do(hr) // no Content-Type at all
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode)

		// 413: over 1 MiB, for every body-taking route.
		huge := `{"name":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
		for _, p := range []struct{ m, path string }{{"POST", segPath(p1)}, {"PUT", segPath(p1, id)}, {"POST", segPath(p1, id, "match")}, {"POST", segPath(p1, "classify")}} {
			r := f.do(req{method: p.m, path: p.path, body: huge, user: agent})
			assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, p.path)
			assert.Less(t, len(r.raw), 200)
		}

		// 404 for routes that do not exist, 405 with Allow for wrong methods.
		for _, p := range []string{"/", "/v3", "/v3/" + p1, "/v3/" + p1 + "/leads", "/" + p1 + "/segments", segPath(p1, id, "match", "x")} {
			r := f.as(agent, "GET", p, "")
			assert.Equal(t, http.StatusNotFound, r.status, p)
			assert.Equal(t, false, r.json["success"], p)
		}
		for _, p := range []struct{ m, path, allow string }{
			{"PATCH", segPath(p1), "GET, POST"}, {"DELETE", segPath(p1), "GET, POST"},
			{"POST", segPath(p1, id), "GET, PUT, DELETE"}, {"GET", segPath(p1, id, "match"), "POST"},
			{"GET", segPath(p1, "classify"), "POST"}, {"DELETE", segPath(p1, "classify"), "POST"},
		} {
			r := f.as(agent, p.m, p.path, "")
			assert.Equal(t, http.StatusMethodNotAllowed, r.status, p)
			assert.Equal(t, p.allow, r.header.Get("Allow"), p)
		}
		assert.Equal(t, http.StatusOK, f.as(agent, "GET", segPath(p1, id), "").status)
	})
}

// TestNoV3Prefix mounts the routes as the original server does.
func TestNoV3Prefix(t *testing.T) {
	f := newFixture(t, memory.New(), "")
	r := f.as(agent, "POST", "/"+p1+"/segments", seg1)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, http.StatusOK, f.as(agent, "GET", "/"+p1+"/segments/"+r.json["_id"].(string), "").status)
	assert.Equal(t, http.StatusNotFound, f.as(agent, "GET", segPath(p1), "").status)
}

// TestInternalErrorsDoNotLeak: a failure the table does not know is a
// bare 500 "internal error"; the detail goes to the log only.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	logs := &syncbuf.Buffer{}
	api := httpapi.New(httpapi.Config{Prefix: "/v3", Store: memory.New(), Auth: brokenAuth{},
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	defer api.Close()
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest("GET", segPath(p1), nil))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.JSONEq(t, `{"success":false,"msg":"internal error"}`, rec.Body.String())
	assert.Contains(t, logs.String(), "secret database password")
	assert.Contains(t, logs.String(), "status=500")

	// A closed store is a 503, not a leak either.
	st := memory.New()
	f := newFixture(t, st, "/v3")
	st.Close()
	r := f.as(agent, "GET", segPath(p1), "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.JSONEq(t, `{"success":false,"msg":"Service unavailable."}`, r.raw)
}

type brokenAuth struct{}

func (brokenAuth) Authenticate(*http.Request) (*auth.Principal, error) {
	return nil, fmt.Errorf("dial users db: secret database password rejected")
}

func TestRequestLog(t *testing.T) {
	f := newFixture(t, memory.New(), "/v3")
	f.as(agent, "GET", segPath(p1), "")
	f.as(agent, "GET", segPath(p1, strings.Repeat("a", 10000)), "")
	logs := f.logs.String()
	assert.Contains(t, logs, "msg=request method=GET path=/v3/"+p1+"/segments route=\"GET /v3/{project_id}/segments\" status=200")
	assert.Contains(t, logs, "user=u-agent")
	assert.NotContains(t, logs, strings.Repeat("a", 300), "long paths are truncated")
	assert.NotContains(t, logs, password)
}

func mustSeg(t *testing.T, doc string) filter.Segment {
	seg, err := filter.DecodeSegment([]byte(doc))
	require.NoError(t, err)
	return seg
}
