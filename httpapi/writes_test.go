package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/httpapi"
	"github.com/segmatch/segmatch/httpapi/auth"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/keeper"
	"github.com/segmatch/segmatch/store/memory"
)

// newKeeperFixture is newFixture with a keeper the test owns (built with
// build, compiling single segments with compile), served through
// httpapi.KeeperClassifiers.
func newKeeperFixture(t *testing.T, st store.Store, build keeper.BuildFunc, compile keeper.CompileFunc) (*fixture, *keeper.Keeper) {
	users, err := auth.ParseUsers(usersFile(t))
	require.NoError(t, err)
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	k := keeper.New(st, build, keeper.WithCompile(compile), keeper.WithLogger(log))
	api := httpapi.New(httpapi.Config{Prefix: "/v3", Store: st, Logger: log,
		Auth:        auth.NewAuthenticator(auth.Config{Users: users, JWTSecret: jwtSecret}),
		Classifiers: httpapi.KeeperClassifiers(k)})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		k.Close()
		st.Close()
	})
	return &fixture{t: t, st: st, api: api, srv: srv, logs: logs}, k
}

// compileCounter is segmatch.Compile, counted.
type compileCounter struct{ n atomic.Int64 }

func (c *compileCounter) compile(seg filter.Segment) (*segmatch.Program, error) {
	c.n.Add(1)
	return segmatch.Compile(seg)
}

// TestMatchDoesNotRecompile: /match evaluates the program kept for the
// stored segment's version; it compiles only a version not seen before.
func TestMatchDoesNotRecompile(t *testing.T) {
	cc := &compileCounter{}
	f, _ := newKeeperFixture(t, memory.New(), httpapi.EngineBuild, cc.compile)
	it := `{"attributes":{"country":"IT"}}`

	// A project not kept (no classify yet): the first /match compiles.
	seg, err := f.st.Create(t.Context(), p1, "u-other", mustSeg(t, `{"name":"it","filters":[{"field":"attributes.country","operator":"=","value":"IT"}]}`))
	require.NoError(t, err)
	for range 5 {
		r := f.as(agent, "POST", segPath(p1, seg.ID, "match"), it)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.JSONEq(t, `{"match":true}`, r.raw)
	}
	assert.EqualValues(t, 1, cc.n.Load(), "five /match, one compile")

	// Kept project: a write compiles its segment once (for classify's
	// overlay), and /match then reuses that program.
	require.Equal(t, http.StatusOK, f.as(agent, "POST", segPath(p1, "classify"), it).status)
	u := f.as(agent, "PUT", segPath(p1, seg.ID), `{"filters":[{"field":"attributes.country","operator":"=","value":"FR"}]}`)
	require.Equal(t, http.StatusOK, u.status, u.raw)
	for range 5 {
		r := f.as(agent, "POST", segPath(p1, seg.ID, "match"), it)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.JSONEq(t, `{"match":false}`, r.raw, "the new version is evaluated")
	}
	// Observe compiled the new version (unless the feed and a build were
	// first, and then the first /match did).
	n := cc.n.Load()
	assert.EqualValues(t, 2, n, "the new version compiled once")
	id := f.create(`{"name":"vip","filters":[{"field":"tags","operator":"contains","value":"vip"}]}`)
	r := f.as(agent, "POST", segPath(p1, id, "match"), `[{"tags":["vip"]},{}]`)
	assert.JSONEq(t, `{"matches":[true,false]}`, r.raw)
	assert.EqualValues(t, n+1, cc.n.Load(), "the create compiled once, /match not at all")
}

// TestWritesDoNotWaitForBuilds: with the project's engine build stuck,
// creates, updates and deletes answer, and classify reflects each at
// once; the build catches up afterwards.
func TestWritesDoNotWaitForBuilds(t *testing.T) {
	release := make(chan struct{}) // closed: builds run
	var once sync.Once
	unstick := func() { once.Do(func() { close(release) }) }
	var builds atomic.Int64
	build := func(segs []filter.Segment) (keeper.Classifier, error) {
		if builds.Add(1) > 1 {
			<-release
		}
		return httpapi.EngineBuild(segs)
	}
	f, k := newKeeperFixture(t, memory.New(), build, nil)
	defer unstick()
	f.srv.Client().Timeout = 10 * time.Second
	vip := `{"tags":["vip"]}`
	classifyVIP := func() string {
		r := f.as(agent, "POST", segPath(p1, "classify"), vip)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		return r.raw
	}
	assert.JSONEq(t, `{"segments":[]}`, classifyVIP())

	a := f.create(`{"name":"a","filters":[{"field":"tags","operator":"contains","value":"vip"}]}`)
	assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q]}`, a), classifyVIP())
	b := f.create(`{"name":"b"}`)
	assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q,%q]}`, a, b), classifyVIP())
	u := f.as(agent, "PUT", segPath(p1, a), `{"filters":[{"field":"tags","operator":"contains","value":"gold"}]}`)
	require.Equal(t, http.StatusOK, u.status, u.raw)
	assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q]}`, b), classifyVIP())
	require.Equal(t, http.StatusOK, f.as(agent, "DELETE", segPath(p1, b), "").status)
	assert.JSONEq(t, `{"segments":[]}`, classifyVIP())
	s, ok := k.Stats(p1)
	require.True(t, ok)
	assert.True(t, s.Pending, "the background build is still stuck")
	assert.Equal(t, 1, s.Segments)

	unstick()
	require.Eventually(t, func() bool {
		s, _ := k.Stats(p1)
		return !s.Pending && s.Overlay == 0
	}, 10*time.Second, 5*time.Millisecond)
	r := f.as(agent, "POST", segPath(p1, "classify"), `{"tags":["gold"]}`)
	assert.JSONEq(t, fmt.Sprintf(`{"segments":[%q]}`, a), r.raw)
}

// TestWeakETagRefused: If-Match compares strongly (RFC 9110 §13.1.1), so
// the segment's own ETag marked weak never matches: 412, nothing changes.
func TestWeakETagRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		g := f.as(agent, "GET", segPath(p1, id), "")
		etag := g.header.Get("ETag")
		require.NotEmpty(t, etag)
		for _, weak := range []string{"W/" + etag, " W/" + etag + " ", `W/"` + g.json["updatedAt"].(string) + `"`} {
			r := f.do(req{method: "PUT", path: segPath(p1, id), user: agent, body: `{"name":"weak"}`, header: map[string]string{"If-Match": weak}})
			assert.Equal(t, http.StatusPreconditionFailed, r.status, "%s: %s", weak, r.raw)
			assert.Equal(t, false, r.json["success"])
		}
		after := f.as(agent, "GET", segPath(p1, id), "")
		assert.Equal(t, "segment1", after.json["name"])
		assert.Equal(t, etag, after.header.Get("ETag"), "nothing changed")
		r := f.do(req{method: "PUT", path: segPath(p1, id), user: agent, body: `{"name":"strong"}`, header: map[string]string{"If-Match": etag}})
		assert.Equal(t, http.StatusOK, r.status, r.raw)
	})
}
