// Package store holds segment definitions: the Store interface that the
// HTTP API and the engine keeper depend on, the domain types around it
// (updates, list options, change events, errors), and the rules every
// implementation shares (validation, ids, timestamps, versions, paging),
// so that implementations only decide where the bytes go.
//
// Every implementation bounds each project (Limits: active segments,
// their total compiled size), checked atomically with each write.
//
// Implementations live in their own packages, one per dependency:
// store/memory (maps, for tests and ephemeral servers) and store/bolt (the
// embedded default, one crash-safe file). store/storetest is the
// conformance suite every implementation runs.
//
// Every method takes a project id: a project never sees or touches another
// project's segments. A segment from another project is, to the caller,
// simply not found.
package store

import (
	"context"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// Store keeps the segment definitions of many projects.
// Implementations are safe for concurrent use.
//
// Segments are returned as fresh copies: the caller may keep and modify
// them. Every write validates the resulting segment with segmatch.Compile
// first, so nothing invalid is ever stored.
type Store interface {
	// LeadStore keeps the projects' leads beside their segments.
	LeadStore

	// Create stores a new segment built from seg's Name, Match and Filters
	// (its other fields are ignored) and returns it as stored: a new
	// 24-hex, time-ordered id, IDProject set to project, CreatedBy set to
	// createdBy (the authenticated caller, never the request body),
	// CreatedAt = UpdatedAt = now, Status = filter.StatusActive.
	// An invalid segment is an error wrapping ErrInvalid whose
	// *segmatch.CompileError values are reachable with errors.As (or all
	// of them with Problems). A project already holding as many active
	// segments, or as large a compiled total, as the store's Limits
	// allow is a *LimitError (ErrLimit).
	Create(ctx context.Context, project, createdBy string, seg filter.Segment) (filter.Segment, error)

	// Get returns an active segment. An unknown id, another project's
	// segment or a deleted one is ErrNotFound.
	Get(ctx context.Context, project, id string) (filter.Segment, error)

	// List returns one page of the project's active segments in the order
	// opts asks for, and the total number of active segments. Invalid
	// options are an error wrapping ErrInvalid (see ListOptions.Check).
	List(ctx context.Context, project string, opts ListOptions) ([]filter.Segment, int, error)

	// Update changes the fields set in upd and returns the updated
	// segment, with UpdatedAt strictly after the previous one. It never
	// creates: an unknown or deleted id is ErrNotFound. A stale
	// upd.IfUpdatedAt is ErrConflict; an invalid result is ErrInvalid; a
	// result that grows the project's compiled total beyond the store's
	// Limits is a *LimitError (ErrLimit). Either way nothing changes.
	Update(ctx context.Context, project, id string, upd SegmentUpdate) (filter.Segment, error)

	// Delete soft-deletes a segment (Status becomes filter.StatusDeleted;
	// it disappears from Get and List) and returns it. Deleting a deleted
	// segment changes nothing and returns it again; an unknown id is
	// ErrNotFound.
	Delete(ctx context.Context, project, id string) (filter.Segment, error)

	// Watch subscribes to the project's changes: every write committed
	// after Watch returns is delivered, per project in commit order, on
	// the returned channel. The channel is closed when ctx is done or the
	// store is closed.
	//
	// Slow consumers: each subscription has a bounded buffer, and writers
	// never wait for a subscriber. When the buffer is full, further events
	// are dropped and one EventResync is queued in their place; a consumer
	// that receives it must re-read the state with List (or Get) and then
	// carry on with the events that follow, which are again complete.
	//
	// To follow a project without missing changes (the engine keeper):
	// Watch first, then List, then apply events, skipping an event whose
	// Segment.UpdatedAt is not after the one already held for that id
	// (events between Watch and List may already be reflected in List).
	Watch(ctx context.Context, project string) (<-chan Event, error)

	// Close releases the store. Watch channels are closed; later calls
	// return ErrClosed. Closing twice is harmless.
	Close() error
}

// SegmentUpdate is a change to a segment's definition: the fields that are
// set (non-nil) replace the stored ones, as Tiledesk's PUT does.
type SegmentUpdate struct {
	Name    *string
	Match   *filter.Match
	Filters *[]filter.Filter

	// IfUpdatedAt, when not zero, makes the update conditional: it
	// applies only if the stored segment's UpdatedAt is exactly this
	// instant (as returned by the store, millisecond precision). Because
	// every write moves UpdatedAt strictly forward, a match proves the
	// caller saw the latest version; otherwise the update fails with
	// ErrConflict.
	IfUpdatedAt time.Time
}

// IsZero reports whether upd changes nothing.
func (upd SegmentUpdate) IsZero() bool {
	return upd.Name == nil && upd.Match == nil && upd.Filters == nil
}
