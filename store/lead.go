package store

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// Lead is one lead (a contact) as a store keeps it: its id and its JSON
// document, as given (the store does not read it: the caller validates).
type Lead struct {
	ID  string
	Raw []byte
}

// LeadStore keeps the leads of many projects beside their segments, so
// that a server rebuilds its audience index from the store it keeps its
// segments in. Every write is durable when it returns (the same
// guarantee as the segment writes: bbolt fsyncs, PostgreSQL commits).
// A project never sees another project's leads.
//
// Leads are ordered by when they were first stored: replacing a lead
// keeps its place, deleting it and storing it again puts it last. That
// order survives a reopen, so an index rebuilt with ForEachLead numbers
// leads as the index it replaces did, and pages of members keep their
// order across restarts.
type LeadStore interface {
	// PutLeads stores leads (each inserted, or replacing the lead of its
	// id) in one atomic write: all of them or, with an error, none. A
	// later lead of the same id in leads wins. An empty id, an id longer
	// than MaxLeadIDLen or not UTF-8, or an empty document is an error
	// wrapping ErrInvalid (*LeadIDError for the id).
	PutLeads(ctx context.Context, project string, leads []Lead) error

	// DeleteLead removes a lead. An unknown id is ErrLeadNotFound.
	DeleteLead(ctx context.Context, project, id string) error

	// ForEachLead calls fn for every lead of project, in the order they
	// were first stored. raw is valid only during the call (copy it to
	// keep it). An error of fn stops the walk and is returned.
	ForEachLead(ctx context.Context, project string, fn func(id string, raw []byte) error) error

	// LeadProjects lists the projects holding at least one lead, sorted.
	LeadProjects(ctx context.Context) ([]string, error)
}

// MaxLeadIDLen bounds a lead id, in bytes.
const MaxLeadIDLen = 512

// ErrLeadNotFound: no lead with that id in that project. It is an
// ErrNotFound too.
var ErrLeadNotFound = fmt.Errorf("lead: %w", ErrNotFound)

// LeadIDError is a lead id a store refuses; it wraps ErrInvalid.
type LeadIDError struct {
	ID     string
	Reason string
}

func (e *LeadIDError) Error() string {
	id := e.ID
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return fmt.Sprintf("lead id %q: %s", id, e.Reason)
}

func (e *LeadIDError) Unwrap() error { return ErrInvalid }

// CheckLeadID rejects an empty, oversized or non-UTF-8 lead id.
func CheckLeadID(id string) error {
	switch {
	case id == "":
		return &LeadIDError{ID: id, Reason: "empty"}
	case len(id) > MaxLeadIDLen:
		return &LeadIDError{ID: id, Reason: fmt.Sprintf("longer than %d bytes", MaxLeadIDLen)}
	case !utf8.ValidString(id):
		return &LeadIDError{ID: id, Reason: "not valid UTF-8"}
	}
	return nil
}

// errEmptyLead: a lead without a document.
var errEmptyLead = fmt.Errorf("%w: a lead needs a JSON document", ErrInvalid)

// CheckLeads checks what PutLeads checks before writing anything: the
// project id, and each lead's id and document.
func CheckLeads(project string, leads []Lead) error {
	if err := CheckProject(project); err != nil {
		return err
	}
	for i := range leads {
		if err := CheckLeadID(leads[i].ID); err != nil {
			return err
		}
		if len(leads[i].Raw) == 0 {
			return fmt.Errorf("lead %q: %w", leads[i].ID, errEmptyLead)
		}
	}
	return nil
}
