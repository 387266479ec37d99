package httpapi_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/memory"
)

// A write beyond the store's limits (store.ErrLimit) is a 422 saying so,
// and changes nothing; a delete makes room.
func TestStoreLimits(t *testing.T) {
	limited := map[string]func(t *testing.T, l store.Limits) store.Store{
		"memory": func(t *testing.T, l store.Limits) store.Store { return memory.New(memory.WithLimits(l)) },
		"bolt": func(t *testing.T, l store.Limits) store.Store {
			st, err := bolt.Open(filepath.Join(t.TempDir(), "segmatch.db"), bolt.WithLimits(l))
			require.NoError(t, err)
			return st
		},
	}
	for name, open := range limited {
		t.Run(name+"/segments", func(t *testing.T) {
			f := newFixture(t, open(t, store.Limits{MaxSegments: 2, MaxBytes: -1}), "/v3")
			first := f.create(`{"name":"one"}`)
			f.create(`{"name":"two"}`)
			r := f.as(agent, "POST", segPath(p1), `{"name":"three"}`)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
			assert.Equal(t, false, r.json["success"])
			assert.Contains(t, r.json["msg"], "limit")
			r = f.as(agent, "GET", segPath(p1), "")
			require.Equal(t, http.StatusOK, r.status)
			assert.EqualValues(t, 2, r.json["count"])
			require.Equal(t, http.StatusOK, f.as(agent, "DELETE", segPath(p1, first), "").status)
			f.create(`{"name":"three"}`)
		})
		t.Run(name+"/bytes", func(t *testing.T) {
			small := `{"name":"s","filters":[{"field":"a","operator":"=","value":"x"}]}`
			vals := make([]string, 300)
			for i := range vals {
				vals[i] = fmt.Sprintf(`"v%03d"`, i)
			}
			bigFilters := `[{"field":"a","operator":"in","value":[` + strings.Join(vals, ",") + `]}]`
			seg, err := filter.DecodeSegment([]byte(`{"name":"big","filters":` + bigFilters + `}`))
			require.NoError(t, err)
			prog, err := segmatch.Compile(seg)
			require.NoError(t, err)
			bigSize := int64(prog.Size())
			// Room for one big segment and a small one, not two big.
			f := newFixture(t, open(t, store.Limits{MaxSegments: -1, MaxBytes: bigSize + bigSize/2}), "/v3")
			f.create(`{"name":"big","filters":` + bigFilters + `}`)
			id := f.create(small)
			r := f.as(agent, "PUT", segPath(p1, id), `{"filters":`+bigFilters+`}`)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
			r = f.as(agent, "GET", segPath(p1, id), "")
			require.Equal(t, http.StatusOK, r.status)
			assert.Len(t, r.json["filters"], 1)
			assert.Equal(t, "=", r.json["filters"].([]any)[0].(map[string]any)["operator"])
			r = f.as(agent, "POST", segPath(p1), `{"name":"big2","filters":`+bigFilters+`}`)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
		})
	}
}
