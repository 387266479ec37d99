package leads

import (
	"context"
	"errors"
	"io"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// Backend is where a Relay sends lead writes and reads memberships from:
// past one machine, the contacts stream the workers consume and the
// membership table they keep (worker.Audience is one).
type Backend interface {
	// Check refuses a lead the backend cannot take as it is (one
	// carrying the workers' version field, say); a *LeadError says where.
	Check(doc []byte) error
	// Write sends new versions of a project's leads (a Lead with Raw nil
	// deletes it). When it returns nil they are durable: the workers
	// will apply them. A lead the backend cannot take is a *LeadError.
	Write(ctx context.Context, project string, leads []store.Lead) error
	// Lead is a lead's JSON as last applied; store.ErrLeadNotFound when
	// there is none (or it was deleted).
	Lead(ctx context.Context, project, id string) ([]byte, error)
	// Count and Members answer a stored segment's membership.
	Count(ctx context.Context, project, segment string) (int, error)
	Members(ctx context.Context, project, segment string, offset, limit int) (Page, error)
	// Events feeds the project's events after the one of Seq after (0:
	// from now on); missed says some after it are no longer held.
	Events(ctx context.Context, project string, after uint64) (feed EventFeed, missed bool, err error)
}

// Relay answers the lead routes from a Backend instead of an in-process
// audience: the API looks the same at any scale. Writes are checked as
// the Hub checks them (one JSON object, the id of its path, the bulk
// limits) and acknowledged once the backend has them durably; reads
// show them once a worker has applied them (eventually, in order per
// lead). The project limits (MaxProjectLeads, MaxProjectBytes) bound an
// in-process audience and do not apply; an unsaved segment's preview is
// the backend's, if it has one (Previewer). The event stream is the backend's (Subscribe), resumable
// from any server.
type Relay struct {
	b   Backend
	lim Limits
	ev  relayEvents
}

// NewRelay makes a relay over b, with lim's lead and bulk bounds (zero
// fields: the defaults).
func NewRelay(b Backend, lim Limits) *Relay { return &Relay{b: b, lim: lim.Resolved()} }

// Limits are the relay's bounds.
func (r *Relay) Limits() Limits { return r.lim }

// Put sends one lead (see Hub.Put for the checks). Created says no
// version of it was applied yet when it was sent; Events is 0: the
// enters and exits are the workers' to find (segmatch.events.<project>).
func (r *Relay) Put(ctx context.Context, project, pathID string, raw []byte) (PutResult, error) {
	doc, id, err := prepare(r.lim, pathID, raw, 0)
	if err != nil {
		return PutResult{}, err
	}
	if err := r.check(doc, id, 0); err != nil {
		return PutResult{}, err
	}
	_, err = r.b.Lead(ctx, project, id)
	created := errors.Is(err, store.ErrLeadNotFound)
	if err != nil && !created {
		return PutResult{}, err
	}
	if err := r.b.Write(ctx, project, []store.Lead{{ID: id, Raw: doc}}); err != nil {
		return PutResult{}, err
	}
	return PutResult{ID: id, Created: created}, nil
}

// check is the backend's Check, as a *LeadError of the lead's line.
func (r *Relay) check(doc []byte, id string, line int) error {
	err := r.b.Check(doc)
	if err == nil {
		return nil
	}
	var le *LeadError
	if !errors.As(err, &le) {
		return &LeadError{Line: line, ID: id, Kind: ErrBadLead, Cause: err}
	}
	out := *le
	out.Line, out.ID = line, id
	return &out
}

// Get is a lead's JSON as last applied.
func (r *Relay) Get(ctx context.Context, project, id string) ([]byte, error) {
	return r.b.Lead(ctx, project, id)
}

// Delete sends a lead's deletion. Unlike the Hub's, it is sent even when
// no version of the lead is applied yet (store.ErrLeadNotFound is not
// answered): a Put of it may still be on its way to the workers, and the
// deletion, newer, must win over it.
func (r *Relay) Delete(ctx context.Context, project, id string) error {
	if err := store.CheckLeadID(id); err != nil {
		return &LeadError{ID: id, Kind: ErrBadLead, Cause: err}
	}
	return r.b.Write(ctx, project, []store.Lead{{ID: id}})
}

// Bulk reads JSON Lines as Hub.Bulk does and sends them a batch at a
// time; an accepted line is durable in the backend before Bulk returns.
// When a batch fails, some of its lines may still have reached the
// backend: the client sends them again (the BulkError's Line on), which
// is harmless, as each is then a newer version of the same lead.
func (r *Relay) Bulk(ctx context.Context, project string, body io.Reader, batched func()) (Report, error) {
	return readBulk(r.lim, body, batched, func(batch []pending, rep *Report) ([]error, error) {
		ls := make([]store.Lead, 0, len(batch))
		var rejected []error
		for _, b := range batch {
			if err := r.check(b.raw, b.id, b.line); err != nil {
				rejected = append(rejected, err)
				continue
			}
			ls = append(ls, store.Lead{ID: b.id, Raw: b.raw})
		}
		if len(ls) > 0 {
			if err := r.b.Write(ctx, project, ls); err != nil {
				return nil, err
			}
		}
		rep.Accepted += len(ls)
		return rejected, nil
	})
}

// Ready says whether the backend answers, when it can tell (a Backend
// with a Ready method).
func (r *Relay) Ready(ctx context.Context) error {
	if b, ok := r.b.(interface{ Ready(context.Context) error }); ok {
		return b.Ready(ctx)
	}
	return nil
}

// Previewer is a Backend that can answer an unsaved segment.
type Previewer interface {
	Preview(ctx context.Context, project string, seg filter.Segment, limit int) (Page, error)
}

// Preview answers an unsaved segment (already validated) when the backend
// is a Previewer; otherwise it is ErrRelayed.
func (r *Relay) Preview(ctx context.Context, project string, seg filter.Segment, limit int) (Page, error) {
	if p, ok := r.b.(Previewer); ok {
		return p.Preview(ctx, project, seg, limit)
	}
	return Page{}, ErrRelayed
}

// Count is the number of members of a stored segment.
func (r *Relay) Count(ctx context.Context, project, segment string) (int, error) {
	return r.b.Count(ctx, project, segment)
}

// Members is a page of a stored segment's members.
func (r *Relay) Members(ctx context.Context, project, segment string, offset, limit int) (Page, error) {
	return r.b.Members(ctx, project, segment, offset, limit)
}
