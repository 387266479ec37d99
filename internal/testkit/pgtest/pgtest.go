// Package pgtest gives a test its own PostgreSQL schema in the database
// of SEGMATCH_PG_DSN (source .ci/pg), so tests sharing one server never
// see each other's tables. Only tests import it.
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// SchemaDSN creates a fresh schema named prefix_PID_RANDOM, drops it when
// tb ends, and returns SEGMATCH_PG_DSN with that schema as its
// search_path. Without SEGMATCH_PG_DSN, tb is skipped, saying how to set
// it.
func SchemaDSN(tb testing.TB, prefix string) string {
	tb.Helper()
	dsn := os.Getenv("SEGMATCH_PG_DSN")
	if dsn == "" {
		tb.Skip("SEGMATCH_PG_DSN is unset: run `source .ci/pg` first for the PostgreSQL tests")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	schema := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), rand.Int64N(1<<40))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
