package segmatch_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/segmatch/segmatch"

// layers is the order data flows in (README "Layout"): a package imports
// only packages of a lower layer. The pushdowns and the oracle stand
// beside the model; the test kits (internal/testkit) sit beside what they
// test, and only tests import them.
var layers = []struct {
	layer int
	pkgs  []string // import paths under the module; "" is the root
}{
	{0, []string{"internal/rawjson", "internal/keytable", "internal/testkit/race", "internal/testkit/pgtest", "internal/testkit/cputime", "internal/testkit/syncbuf"}},
	{1, []string{"filter"}},
	{2, []string{"operators", "internal/testkit/cases", "internal/testkit/sample"}},
	{3, []string{"internal/plan", "oracle", "internal/testkit/randgen"}},
	{4, []string{""}},
	{5, []string{"engine", "sqlgen", "mongogen", "internal/testkit/conformance"}},
	{6, []string{"audience", "benchmarks", "mongogen/mongorun"}},
	{7, []string{"store", "httpapi/auth"}},
	{8, []string{"store/memory", "store/bolt", "store/postgres", "store/storetest", "leads"}},
	{9, []string{"store/keeper", "worker"}},
	{10, []string{"httpapi"}},
	{11, []string{"cmd/segmatch", "internal/testkit/sample/cmd/gensample"}},
}

// libraries are what an embedder imports: none may pull in a server, a
// store, NATS or Mongo. (sqlgen is the PostgreSQL pushdown: pgx is its
// one dependency.)
var libraries = []string{"", "filter", "operators", "engine", "audience", "internal/plan", "oracle"}

var serverDeps = []string{
	"go.etcd.io/bbolt", "github.com/jackc/pgx", "github.com/golang-jwt/jwt", "github.com/nats-io/",
	"go.mongodb.org/", "github.com/prometheus/", "net/http", module + "/store", module + "/httpapi",
}

type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func goList(t *testing.T) map[string]listed {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,Deps", "./...")
	out, err := cmd.Output()
	require.NoError(t, err)
	pkgs := map[string]listed{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// TestLayers fails when a package imports against the flow, or when a
// package is not placed in a layer.
func TestLayers(t *testing.T) {
	pkgs := goList(t)
	layerOf := map[string]int{}
	for _, l := range layers {
		for _, p := range l.pkgs {
			layerOf[p] = l.layer
		}
	}
	for name, p := range pkgs {
		from, ok := layerOf[name]
		if !ok {
			t.Errorf("package %q has no layer in layers_test.go: place it", name)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if strings.HasPrefix(to, "internal/testkit/") && !strings.HasPrefix(name, "internal/testkit/") {
				t.Errorf("%q imports the test kit %q outside its tests", name, to)
			}
			if layerOf[to] >= from {
				t.Errorf("%q (layer %d) imports %q (layer %d): against the flow", name, from, to, layerOf[to])
			}
		}
	}
}

// TestLibraryDeps: the library packages do not depend on a server, a
// store, NATS or Mongo. (sqlgen is the PostgreSQL pushdown: pgx is its
// one dependency.)(go list -deps).
func TestLibraryDeps(t *testing.T) {
	pkgs := goList(t)
	for _, lib := range libraries {
		p, ok := pkgs[lib]
		if !ok {
			continue // not built yet (audience)
		}
		for _, d := range p.Deps {
			for _, bad := range serverDeps {
				if strings.HasPrefix(d, bad) {
					t.Errorf("library package %q depends on %s", "/"+lib, d)
				}
			}
		}
	}
}
