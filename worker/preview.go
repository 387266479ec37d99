package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/sqlgen"
)

// DefaultMaxPreviews previews run at once on an Audience (each a scan
// holding a database connection); more are leads.ErrBusy, so that reads
// of leads and counts always find a connection.
const DefaultMaxPreviews = 2

// DefaultPreviewTimeout bounds a preview over the stored contacts
// (Audience.PreviewTimeout): past it the preview is leads.ErrTooSlow
// (save the segment: the workers keep its count).
const DefaultPreviewTimeout = 30 * time.Second

// Preview answers an unsaved segment over the contacts' last versions in
// segmatch_contacts: how many it holds and its first limit members in
// the order of their ids. The segment runs in PostgreSQL through sqlgen
// when it is pushable (the clause over each document read as jsonb);
// otherwise, or when a document is one jsonb cannot hold (a \u0000 in a
// string), the documents are streamed through the engine. Either way it
// is a scan of the project's contacts, bounded by PreviewTimeout.
func (a *Audience) Preview(ctx context.Context, project string, seg filter.Segment, limit int) (leads.Page, error) {
	bound := a.PreviewTimeout
	if bound <= 0 {
		bound = DefaultPreviewTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	now := time.Now()
	select {
	case a.previews <- struct{}{}:
		defer func() { <-a.previews }()
	default:
		return leads.Page{}, &retryError{fmt.Errorf("%w: %d are running", leads.ErrBusy, cap(a.previews))}
	}
	p, err := a.previewSQL(ctx, project, seg, now, limit)
	var pg *pgconn.PgError
	if errors.Is(err, sqlgen.ErrNotPushable) || errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22") {
		// class 22, data exception: a document or a value jsonb cannot
		// hold (a \u0000, a lone surrogate); the engine reads it
		p, err = a.previewScan(ctx, project, seg, now, limit)
	}
	switch {
	case err == nil:
		return p, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil:
		return leads.Page{}, fmt.Errorf("%w: the preview scans every stored contact of the project and took over %v", leads.ErrTooSlow, bound)
	case parent.Err() != nil:
		return leads.Page{}, parent.Err() // the client went
	}
	return leads.Page{}, down("previewing: %w", err)
}

func (a *Audience) previewSQL(ctx context.Context, project string, seg filter.Segment, now time.Time, limit int) (leads.Page, error) {
	clause, args, err := sqlgen.Where(seg, "j", sqlgen.WithNow(now), sqlgen.WithFirstParam(1))
	if err != nil {
		return leads.Page{}, err
	}
	q := `SELECT contact, doc, count(*) OVER () FROM (
		SELECT contact, doc, convert_from(doc, 'UTF8')::jsonb AS j FROM segmatch_contacts
		WHERE project = $1 AND doc IS NOT NULL) AS t
		WHERE ` + clause + ` ORDER BY contact LIMIT $` + strconv.Itoa(len(args)+2)
	rows, err := a.pool.Query(ctx, q, append(append([]any{project}, args...), limit)...)
	if err != nil {
		return leads.Page{}, err
	}
	p := leads.Page{IDs: []string{}, Raws: [][]byte{}}
	var id string
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &doc, &p.Count}, func() error {
		p.IDs, p.Raws = append(p.IDs, id), append(p.Raws, unversioned(doc))
		return nil
	})
	if err != nil {
		return leads.Page{}, err
	}
	if limit == 0 && p.Count == 0 {
		// LIMIT 0 returns no row to carry the count
		err = a.pool.QueryRow(ctx, `SELECT count(*) FROM (
			SELECT convert_from(doc, 'UTF8')::jsonb AS j FROM segmatch_contacts
			WHERE project = $1 AND doc IS NOT NULL) AS t WHERE `+clause, append([]any{project}, args...)...).Scan(&p.Count)
	}
	return p, err
}

// previewScan streams the project's contacts through the engine.
func (a *Audience) previewScan(ctx context.Context, project string, seg filter.Segment, now time.Time, limit int) (leads.Page, error) {
	prog, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return now }))
	if err != nil {
		return leads.Page{}, err
	}
	rows, err := a.pool.Query(ctx, "SELECT contact, doc FROM segmatch_contacts WHERE project = $1 AND doc IS NOT NULL ORDER BY contact", project)
	if err != nil {
		return leads.Page{}, err
	}
	p := leads.Page{IDs: []string{}, Raws: [][]byte{}}
	var id string
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &doc}, func() error {
		if ok, _ := prog.MatchJSON(doc); ok {
			p.Count++
			if len(p.IDs) < limit {
				p.IDs, p.Raws = append(p.IDs, id), append(p.Raws, unversioned(doc))
			}
		}
		return nil
	})
	return p, err
}
