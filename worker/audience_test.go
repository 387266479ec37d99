package worker

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/pgtest"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/sqlgen"
)

func TestVersionedRoundTrip(t *testing.T) {
	for _, doc := range []string{`{}`, `{ }`, `{"_id":"a"}`, `{ "_id" : "a", "x": [1,{"y":2}] }`} {
		v := versioned([]byte(doc), 1765000000123456)
		assert.True(t, json.Valid(v), "%s -> %s", doc, v)
		back := unversioned(v)
		assert.JSONEq(t, doc, string(back), "%s -> %s -> %s", doc, v, back)
	}
	// Another publisher's contact is shown as it was sent.
	for _, doc := range []string{`{"_version":3,"_id":"a"}`, `{"_version":"x"}`, `{"a":1}`} {
		if doc == `{"_version":3,"_id":"a"}` {
			assert.Equal(t, `{"_id":"a"}`, string(unversioned([]byte(doc))), "the version first is stripped, whoever wrote it")
			continue
		}
		assert.Equal(t, doc, string(unversioned([]byte(doc))))
	}
}

func TestAudienceCheck(t *testing.T) {
	a := &Audience{}
	require.NoError(t, a.Check([]byte(`{"_id":"a","version":1}`)))
	for _, f := range []string{"_version", "_deleted"} {
		err := a.Check([]byte(`{"_id":"a","` + f + `":1}`))
		var le *leads.LeadError
		require.ErrorAs(t, err, &le)
		assert.Equal(t, "/"+f, le.Path)
		assert.ErrorIs(t, err, leads.ErrBadLead)
	}
}

// TestNextVersions: concurrent reservations (as from several servers)
// never overlap, and each is past the clock.
func TestNextVersions(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "worker_clock")
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, clockSchema)
	require.NoError(t, err)
	start := time.Now().UnixMicro()
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				n := 1 + (g*7+i)%5
				last, err := NextVersions(ctx, pool, n)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for v := last - int64(n) + 1; v <= last; v++ {
					assert.False(t, seen[v], "version %d handed out twice", v)
					assert.Greater(t, v, start-1)
					seen[v] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestPreviewBounded: a preview is a scan of the project's stored
// contacts, in SQL or through the engine; one that takes longer than
// PreviewTimeout is leads.ErrTooSlow, whichever way it runs.
func TestPreviewBounded(t *testing.T) {
	ctx := context.Background()
	pool := previewContacts(t, "worker_preview", 100000)
	a := &Audience{pool: pool, previews: make(chan struct{}, DefaultMaxPreviews)}
	sql := filter.Segment{Filters: []filter.Filter{filter.Cond("n", ">", 99990)}}
	scan := filter.Segment{Filters: []filter.Filter{filter.Cond("", "expr", "n > 99990")}}
	for _, seg := range []filter.Segment{sql, scan} {
		p, err := a.Preview(ctx, "p", seg, 2)
		require.NoError(t, err)
		assert.Equal(t, 10, p.Count)
		assert.Equal(t, []string{"c099991", "c099992"}, p.IDs)
	}
	a.PreviewTimeout = time.Millisecond
	for _, seg := range []filter.Segment{sql, scan} {
		_, err := a.Preview(ctx, "p", seg, 2)
		assert.ErrorIs(t, err, leads.ErrTooSlow)
	}
}

// previewContacts is a pool on a fresh schema holding n contacts of
// project p, c000001 to cNNNNNN, each {"_id", "n": its number}.
func previewContacts(t *testing.T, schema string, n int) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.SchemaDSN(t, schema))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, Install(ctx, pool))
	require.NoError(t, sqlgen.Install(ctx, pool)) // as NewAudience does
	_, err = pool.Exec(ctx, `INSERT INTO segmatch_contacts (project, contact, version, doc)
		SELECT 'p', 'c' || lpad(i::text, 6, '0'), 1, convert_to('{"_id":"c' || lpad(i::text, 6, '0') || '","n":' || i || '}', 'UTF8')
		FROM generate_series(1, $1::int) AS i`, n)
	require.NoError(t, err)
	return pool
}
