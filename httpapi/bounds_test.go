package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/segmatch/segmatch/internal/testkit/race"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBoundsThroughTheAPI: issue 12's attacks, as an agent would send
// them, are each a 400 naming the segment's pointer, on create and on
// update; nothing is stored, and the server stays small.
func TestBoundsThroughTheAPI(t *testing.T) {
	exprBody := func(src string) string {
		v, _ := json.Marshal(src)
		return `{"name":"x","filters":[{"field":"","operator":"expr","value":` + string(v) + `}]}`
	}
	attacks := []struct {
		name, body, pointer string
	}{
		{"expr out of memory", exprBody(`let a=repeat("x",999999); let b=a+a; let c=b+b; let d=c+c; let e=d+d; let f=e+e; let g=f+f; let h=g+g; let i=h+h; let j=i+i; let k=j+j; let l=k+k; let m=l+l; let n=m+m; len(n)>0`), "/filters/0/value"},
		{"expr one allocation", exprBody(`replace(repeat("x",99999),"x",repeat("x",99999)) != ""`), "/filters/0/value"},
		{"expr CPU forever", exprBody(`let r=1..999; all(r,{all(r,{all(r,{all(r,{true})})})})`), "/filters/0/value"},
		{"regex program", `{"name":"x","filters":[{"field":"note","operator":"regex","value":"` + strings.Repeat("[^x]{999}", 100) + `"}]}`, "/filters/0/value"},
		{"regex 4 KiB of nested repeats", `{"name":"x","filters":[{"field":"note","operator":"regex","value":"` + strings.Repeat("(?:[^x]{100}){10}", 240) + `"}]}`, "/filters/0/value"},
		{"long path", `{"name":"x","filters":[{"field":"` + strings.Repeat("a.", 499990) + `b","operator":"is_set"}]}`, "/filters/0/field"},
	}
	eachStore(t, func(t *testing.T, f *fixture) {
		id := f.create(seg1)
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				for _, r := range []req{
					{method: "POST", path: segPath(p1), body: a.body, user: agent},
					{method: "PUT", path: segPath(p1, id), body: a.body, user: agent},
				} {
					res := f.do(r)
					require.Equal(t, http.StatusBadRequest, res.status, "%s: %.300s", r.method, res.raw)
					errs, _ := res.json["errors"].([]any)
					require.Len(t, errs, 1, res.raw)
					e := errs[0].(map[string]any)
					assert.Equal(t, a.pointer, e["path"])
					assert.Contains(t, e["message"], "too complex")
				}
			})
		}
		// 64 long-path POSTs (2.4 GB and a crash before) leave the heap as
		// it was; 16 under the race detector, which makes each take a
		// second (they kept 20 MB each, so 16 would still show).
		n := 64
		if race.Enabled {
			n = 16
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			res := f.as(agent, "POST", segPath(p1), attacks[5].body)
			require.Equal(t, http.StatusBadRequest, res.status)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		assert.Less(t, grew, int64(32<<20), fmt.Sprintf("heap grew %d bytes", grew))
		l := f.as(agent, "GET", segPath(p1), "")
		assert.EqualValues(t, 1, l.json["count"], "nothing but the first segment is stored")
		assert.Equal(t, http.StatusOK, f.as(agent, "POST", segPath(p1, id, "match"), `{"field1":"value1"}`).status)
	})
}
