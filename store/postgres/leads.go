package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/store"
)

// leadsSchemaSQL: one row a lead, its document as bytea (a lead is any
// JSON object, U+0000 escapes included, so neither jsonb nor a check of
// its text), its place in the order leads were first stored (seq, from a
// sequence; a replaced lead keeps its place).
const leadsSchemaSQL = `
CREATE SEQUENCE IF NOT EXISTS segmatch_leads_seq;
CREATE TABLE IF NOT EXISTS segmatch_leads (
	project text   NOT NULL,
	id      text   NOT NULL,
	seq     bigint NOT NULL DEFAULT nextval('segmatch_leads_seq'),
	raw     bytea  NOT NULL,
	PRIMARY KEY (project, id)
);
CREATE INDEX IF NOT EXISTS segmatch_leads_order ON segmatch_leads (project, seq);
`

const putLeadSQL = `INSERT INTO segmatch_leads (project, id, raw) VALUES ($1, $2, $3)
	ON CONFLICT (project, id) DO UPDATE SET raw = EXCLUDED.raw`

// PutLeads implements store.LeadStore: one transaction, the rows sent
// as one batch.
func (s *Store) PutLeads(ctx context.Context, project string, leads []store.Lead) error {
	if err := s.begin(ctx, project); err != nil {
		return err
	}
	if err := store.CheckLeads(project, leads); err != nil {
		return err
	}
	if len(leads) == 0 {
		return nil
	}
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var b pgx.Batch
			for _, l := range leads {
				b.Queue(putLeadSQL, project, l.ID, l.Raw)
			}
			return tx.SendBatch(ctx, &b).Close()
		})
	})
	return s.mapErr(ctx, err)
}

// DeleteLead implements store.LeadStore.
func (s *Store) DeleteLead(ctx context.Context, project, id string) error {
	if err := s.begin(ctx, project); err != nil {
		return err
	}
	if store.CheckLeadID(id) != nil {
		return store.ErrLeadNotFound
	}
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, "DELETE FROM segmatch_leads WHERE project = $1 AND id = $2", project, id)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrLeadNotFound
		}
		return err
	})
	if errors.Is(err, store.ErrLeadNotFound) {
		return err
	}
	return s.mapErr(ctx, err)
}

// ForEachLead implements store.LeadStore: one query, rows streamed in
// their order.
func (s *Store) ForEachLead(ctx context.Context, project string, fn func(id string, raw []byte) error) error {
	if err := s.begin(ctx, project); err != nil {
		return err
	}
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT id, raw FROM segmatch_leads WHERE project = $1 ORDER BY seq", project)
		if err != nil {
			return err
		}
		defer rows.Close()
		var id string
		var raw []byte
		for rows.Next() {
			if err := rows.Scan(&id, &raw); err != nil {
				return err
			}
			if err := fn(id, raw); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return s.mapErr(ctx, err)
}

// LeadProjects implements store.LeadStore.
func (s *Store) LeadProjects(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var out []string
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT DISTINCT project FROM segmatch_leads ORDER BY project")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, s.mapErr(ctx, err)
}
