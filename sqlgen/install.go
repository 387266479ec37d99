package sqlgen

import (
	"context"
	_ "embed"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed install.sql
var installSQL string

// Execer is what Install needs: a *pgx.Conn, *pgxpool.Pool or pgx.Tx.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

var installOnce = sync.OnceValue(func() string {
	from, to := foldTable()
	// The table holds no quote or backslash: only letters.
	return strings.NewReplacer("@@FOLD_FROM@@", from, "@@FOLD_TO@@", to).Replace(installSQL)
})

// InstallSQL is the migration Install runs: CREATE OR REPLACE FUNCTION
// segmatch_* (idempotent). The database must use the UTF8 encoding.
func InstallSQL() string { return installOnce() }

// Install creates (or replaces) the helper functions the clauses call, in
// the current schema. It takes an advisory lock so concurrent installs do
// not collide.
func Install(ctx context.Context, db Execer) error {
	_, err := db.Exec(ctx, "SELECT pg_advisory_lock(7301981); "+InstallSQL()+"; SELECT pg_advisory_unlock(7301981)")
	return err
}
