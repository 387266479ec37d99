package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidwall/gjson"

	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/sqlgen"
	"github.com/segmatch/segmatch/store"
)

// Audience is the leads.Backend past one machine, so that `segmatch
// serve` answers the lead routes at any scale: a lead written through the
// API becomes a contact change on the contacts stream (a new version from
// the PostgreSQL clock, NextVersions), which the workers apply; a lead,
// a segment's count and its members are read from the tables the workers
// keep (segmatch_contacts, segmatch_members).
//
// The versions are microseconds since the Unix epoch, never repeated and
// always increasing across every server sharing the database: other
// publishers of the same project's contacts should version them the same
// way (or with NextVersions), or a write through the API may lose to, or
// beat, theirs out of order.
type Audience struct {
	js     jetstream.JetStream
	pool   *pgxpool.Pool
	stream string
	// EventsStream holds the workers' events (DefaultEventsStream).
	EventsStream string
	// PreviewTimeout bounds a preview (DefaultPreviewTimeout).
	PreviewTimeout time.Duration
	previews       chan struct{} // a token a preview running (DefaultMaxPreviews)
}

// clockSchema is the version clock's table: one row, the last version
// handed out.
const clockSchema = `CREATE TABLE IF NOT EXISTS segmatch_clock (
	name text PRIMARY KEY,
	version bigint NOT NULL
)`

// NewAudience makes the backend: the worker's tables, the clock and
// sqlgen's helper functions in pool, the contacts and events streams on
// js (created when missing).
func NewAudience(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, stream string) (*Audience, error) {
	if err := Install(ctx, pool); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, clockSchema); err != nil {
		return nil, fmt.Errorf("worker: creating the version clock: %w", err)
	}
	// at start, not at a preview: a failure here is the server's to
	// report, not one request's to remember
	if err := sqlgen.Install(ctx, pool); err != nil {
		return nil, fmt.Errorf("worker: installing the SQL helpers previews call: %w", err)
	}
	for _, cfg := range []jetstream.StreamConfig{ContactStreamConfig(stream), EventStreamConfig(DefaultEventsStream)} {
		if err := EnsureStream(ctx, js, cfg); err != nil {
			return nil, err
		}
	}
	return &Audience{js: js, pool: pool, stream: stream, EventsStream: DefaultEventsStream,
		previews: make(chan struct{}, DefaultMaxPreviews)}, nil
}

// NextVersions reserves n contact versions, (last-n, last]: each greater
// than any reserved before (from any process sharing the database) and
// than the current time in microseconds since the Unix epoch. The clock
// table must exist (NewAudience creates it).
func NextVersions(ctx context.Context, pool *pgxpool.Pool, n int) (last int64, err error) {
	err = pool.QueryRow(ctx, `INSERT INTO segmatch_clock AS c (name, version)
		VALUES ('versions', greatest($1::bigint, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint))
		ON CONFLICT (name) DO UPDATE
		SET version = greatest(c.version + $1::bigint, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
		RETURNING version`, int64(n)).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("worker: reserving versions: %w", err)
	}
	return last, nil
}

// Check refuses a lead carrying the fields the workers read as a change's
// version or deletion: the server sets those.
func (a *Audience) Check(doc []byte) error {
	for _, f := range []string{DefaultVersionField, DeletedField} {
		if gjson.GetBytes(doc, gjson.Escape(f)).Exists() {
			return &leads.LeadError{Path: "/" + f, Kind: leads.ErrBadLead,
				Cause: fmt.Errorf("%q is set by the server when leads go to the workers", f)}
		}
	}
	return nil
}

// versionPrefix opens a lead as Write sends it: the version first.
const versionPrefix = `{"` + DefaultVersionField + `":`

// versioned is doc (one JSON object) with "_version": v as its first
// member.
func versioned(doc []byte, v int64) []byte {
	rest := bytes.TrimLeft(doc[1:], jsonSpace)
	out := make([]byte, 0, len(doc)+32)
	out = append(out, versionPrefix...)
	out = strconv.AppendInt(out, v, 10)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// unversioned is a stored contact as the API shows it: without a
// version that opens it (as Write puts it first; another publisher's
// contact keeps a version it sent elsewhere than first).
func unversioned(doc []byte) []byte {
	if !bytes.HasPrefix(doc, []byte(versionPrefix)) {
		return doc
	}
	i := len(versionPrefix)
	j := i
	for j < len(doc) && doc[j] >= '0' && doc[j] <= '9' {
		j++
	}
	if j == i || j >= len(doc) {
		return doc
	}
	switch doc[j] {
	case ',':
		return append([]byte{'{'}, doc[j+1:]...)
	case '}':
		return append([]byte{'{'}, doc[j:]...)
	}
	return doc
}

// backendTimeout bounds each call to NATS or PostgreSQL a request makes:
// past it the request is a 503 (leads.ErrBackendDown), not a hang.
const backendTimeout = 10 * time.Second

// retryError is an error worth retrying in a second: NATS or
// PostgreSQL not answering (down), or too many previews (busy).
type retryError struct{ err error }

func (e *retryError) Error() string             { return "worker: " + e.err.Error() }
func (e *retryError) Unwrap() error             { return e.err }
func (e *retryError) RetryAfter() time.Duration { return time.Second }

// down is leads.ErrBackendDown, with what did not answer.
func down(format string, args ...any) *retryError {
	return &retryError{fmt.Errorf("%w: "+format, append([]any{leads.ErrBackendDown}, args...)...)}
}

// Ready says whether the workers' NATS and PostgreSQL answer (the
// server's /readyz).
func (a *Audience) Ready(ctx context.Context) error {
	if nc := a.js.Conn(); nc == nil || !nc.IsConnected() {
		return down("NATS is not connected")
	}
	if err := a.pool.Ping(ctx); err != nil {
		return down("PostgreSQL: %w", err)
	}
	return nil
}

// MaxLeadBytes is the largest lead Write sends: a contact line the
// workers take (MaxContactBytes) and a message NATS carries, with the
// version Write adds.
func (a *Audience) MaxLeadBytes() int {
	n := MaxContactBytes
	if nc := a.js.Conn(); nc != nil && nc.MaxPayload() > 0 {
		n = min(n, int(nc.MaxPayload()))
	}
	return n - 64
}

// CheckProject refuses a project id that is not one NATS subject token
// (it would subscribe to, or publish on, other projects' subjects).
func CheckProject(project string) error {
	if project == "" || strings.ContainsAny(project, ".*> \t\r\n") {
		return fmt.Errorf("%w: project %q cannot be a NATS subject token", store.ErrInvalid, project)
	}
	return nil
}

// Write publishes the leads as new versions (a nil Raw: a deletion), one
// message each with its Nats-Msg-Id, and returns once the stream has
// acknowledged every one (stored: the workers will apply them). A lead is
// sent on one line (a message is JSON Lines to the workers: a line break
// between tokens, all a valid document can hold, becomes a space).
// Unacknowledged within backendTimeout it is a *downError; such a write
// may still be applied (JetStream may have stored it), like any retried
// write.
func (a *Audience) Write(ctx context.Context, project string, ls []store.Lead) error {
	if err := CheckProject(project); err != nil {
		return err
	}
	if len(ls) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	last, err := NextVersions(ctx, a.pool, len(ls))
	if err != nil {
		return down("%w", err)
	}
	subject := ContactSubjectPrefix + "." + project
	futures := make([]jetstream.PubAckFuture, 0, len(ls))
	for i, l := range ls {
		v := last - int64(len(ls)-1-i)
		var data []byte
		if l.Raw == nil {
			id, _ := json.Marshal(l.ID) // a string always encodes
			data = []byte(versionPrefix + strconv.FormatInt(v, 10) + `,"_id":` + string(id) + `,"` + DeletedField + `":true}`)
		} else {
			data = oneLine(versioned(l.Raw, v))
		}
		f, err := a.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data},
			jetstream.WithMsgID(MsgID(project, l.ID, v)), jetstream.WithExpectStream(a.stream))
		if err != nil {
			return down("publishing lead %s: %w", l.ID, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return down("publishing lead %s: %w", ls[i].ID, err)
		case <-ctx.Done():
			return down("publishing lead %s: not acknowledged within %v", ls[i].ID, backendTimeout)
		}
	}
	return nil
}

// oneLine replaces doc's line breaks (in a valid document, whitespace
// between tokens) with spaces, in place.
func oneLine(doc []byte) []byte {
	for i, c := range doc {
		if c == '\n' || c == '\r' {
			doc[i] = ' '
		}
	}
	return doc
}

// Lead is a contact's last applied version, without the version Write
// added; store.ErrLeadNotFound when none applied, or it was deleted.
func (a *Audience) Lead(ctx context.Context, project, id string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	var doc []byte
	err := a.pool.QueryRow(ctx, "SELECT doc FROM segmatch_contacts WHERE project = $1 AND contact = $2", project, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && doc == nil {
		return nil, store.ErrLeadNotFound
	}
	if err != nil {
		return nil, down("reading lead %s: %w", id, err)
	}
	return unversioned(doc), nil
}

// Count is the number of members of a segment in the membership table
// (its counter rows: the same figure, without a scan).
func (a *Audience) Count(ctx context.Context, project, segment string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	var n int
	if err := a.pool.QueryRow(ctx, countQuery, project, segment).Scan(&n); err != nil {
		return 0, down("counting segment %s: %w", segment, err)
	}
	return n, nil
}

// Members is a page of a segment's members, in the order of their ids,
// with the count, read in one snapshot.
func (a *Audience) Members(ctx context.Context, project, segment string, offset, limit int) (leads.Page, error) {
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	p := leads.Page{IDs: []string{}, Raws: [][]byte{}}
	err := pgx.BeginTxFunc(ctx, a.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, countQuery, project, segment).Scan(&p.Count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT m.contact, c.doc FROM segmatch_members m
			JOIN segmatch_contacts c ON c.project = m.project AND c.contact = m.contact
			WHERE m.project = $1 AND m.segment = $2 AND c.doc IS NOT NULL
			ORDER BY m.contact OFFSET $3 LIMIT $4`, project, segment, offset, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				return err
			}
			p.IDs, p.Raws = append(p.IDs, id), append(p.Raws, unversioned(doc))
		}
		return rows.Err()
	})
	if err != nil {
		return leads.Page{}, down("reading segment %s: %w", segment, err)
	}
	return p, nil
}

// Events feeds the project's enter/exit events from the events stream,
// after its message of sequence after (0: from now on); missed says
// the stream no longer holds (or never held) the messages after it.
func (a *Audience) Events(ctx context.Context, project string, after uint64) (leads.EventFeed, bool, error) {
	if err := CheckProject(project); err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	// A consumer a client, deleted when the client goes (InactiveThreshold
	// is the backstop should the delete not reach the server).
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{EventSubjectPrefix + "." + project},
		DeliverPolicy: jetstream.DeliverNewPolicy, InactiveThreshold: time.Minute}
	missed := false
	if after > 0 {
		s, err := a.js.Stream(ctx, a.EventsStream)
		if err != nil {
			return nil, false, down("events stream %s: %w", a.EventsStream, err)
		}
		st := s.CachedInfo().State
		if after+1 < st.FirstSeq || after > st.LastSeq {
			missed = true
		} else {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
		}
	}
	c, err := a.js.OrderedConsumer(ctx, a.EventsStream, cfg)
	if err != nil {
		return nil, false, down("events stream %s: %w", a.EventsStream, err)
	}
	it, err := c.Messages()
	if err != nil {
		return nil, false, down("events stream %s: %w", a.EventsStream, err)
	}
	return &eventFeed{it: it, c: c, js: a.js, stream: a.EventsStream}, missed, nil
}

// eventFeed reads the events stream's messages as leads' events.
type eventFeed struct {
	it     jetstream.MessagesContext
	c      jetstream.Consumer
	js     jetstream.JetStream
	stream string
}

func (f *eventFeed) Next(ctx context.Context) (leads.Event, error) {
	for {
		m, err := f.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return leads.Event{}, err
		}
		meta, err := m.Metadata()
		if err != nil {
			return leads.Event{}, err
		}
		var e Event
		if json.Unmarshal(m.Data(), &e) != nil {
			continue // not a worker's event: not the API's to show
		}
		return leads.Event{Seq: meta.Sequence.Stream, Lead: e.Contact, Segment: e.Segment, Entered: e.Entered}, nil
	}
}

// Close stops the feed and deletes its consumer from the server.
func (f *eventFeed) Close() {
	f.it.Stop()
	info := f.c.CachedInfo()
	if info == nil || info.Name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.js.DeleteConsumer(ctx, f.stream, info.Name) // else InactiveThreshold removes it
}

var _ leads.Backend = (*Audience)(nil)
