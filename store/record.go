package store

import (
	"fmt"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// Record is what an implementation stores for one segment: the segment as
// returned to callers, and its version. The rules for changing a record
// live here (NewRecord, Record.Apply, Record.Delete) so that every
// implementation behaves alike; an implementation loads, calls one of
// them, saves and publishes the event.
type Record struct {
	Segment filter.Segment
	// Version is 1 when created and grows by one at each update and at
	// the delete. Together with UpdatedAt, which grows strictly at the
	// same moments, it orders the states of a segment.
	Version uint64
	// Size is the segment's compiled size (segmatch.Program.Size), which
	// Limits.MaxBytes bounds per project; negative when unknown (a record
	// stored before sizes were kept: see CompiledSize).
	Size int64
}

// Active reports whether the record's segment is visible (not deleted).
func (r *Record) Active() bool { return r.Segment.Status != filter.StatusDeleted }

// Timestamp is how the store records an instant: UTC, truncated to the
// millisecond the wire format carries, so a time read back from JSON
// equals the stored one exactly (and works as an update precondition).
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// nextUpdatedAt is now, or one millisecond after prev when now is not
// after it: UpdatedAt strictly increases at every write of a segment,
// whatever the clock does.
func nextUpdatedAt(prev, now time.Time) time.Time {
	now = Timestamp(now)
	if !now.After(prev) {
		return prev.Add(time.Millisecond)
	}
	return now
}

// NewRecord builds the record of a new segment from def's definition
// (Name, Match, Filters), after validating it (see Validate).
func NewRecord(project, createdBy, id string, def filter.Segment, now time.Time) (Record, error) {
	if err := CheckProject(project); err != nil {
		return Record{}, err
	}
	seg, size, err := validate(def)
	if err != nil {
		return Record{}, err
	}
	now = Timestamp(now)
	seg.ID = id
	seg.IDProject = project
	seg.CreatedBy = createdBy
	seg.CreatedAt = now
	seg.UpdatedAt = now
	seg.Status = filter.StatusActive
	return Record{Segment: seg, Version: 1, Size: size}, nil
}

// Apply returns the record after upd, checking in this order: a deleted
// record is ErrNotFound, a stale precondition ErrConflict, an invalid
// result ErrInvalid. An update that sets nothing returns r unchanged
// (after the same checks) and reports changed false.
func (r Record) Apply(upd SegmentUpdate, now time.Time) (next Record, changed bool, err error) {
	if !r.Active() {
		return r, false, ErrNotFound
	}
	if !upd.IfUpdatedAt.IsZero() && !upd.IfUpdatedAt.Equal(r.Segment.UpdatedAt) {
		return r, false, fmt.Errorf("%w: segment %s was updated at %s, not %s", ErrConflict,
			r.Segment.ID, r.Segment.UpdatedAt.Format(filter.TimeLayout), upd.IfUpdatedAt.UTC().Format(filter.TimeLayout))
	}
	if upd.IsZero() {
		return r, false, nil
	}
	def := filter.Segment{Name: r.Segment.Name, Match: r.Segment.Match, Filters: r.Segment.Filters}
	if upd.Name != nil {
		def.Name = *upd.Name
	}
	if upd.Match != nil {
		def.Match = *upd.Match
	}
	if upd.Filters != nil {
		def.Filters = *upd.Filters
	}
	seg, size, err := validate(def)
	if err != nil {
		return r, false, err
	}
	next = r
	next.Segment.Name, next.Segment.Match, next.Segment.Filters = seg.Name, seg.Match, seg.Filters
	next.Size = size
	next.Segment.UpdatedAt = nextUpdatedAt(r.Segment.UpdatedAt, now)
	next.Version++
	return next, true, nil
}

// Delete returns the record soft-deleted. Deleting a deleted record
// changes nothing (changed is false).
func (r Record) Delete(now time.Time) (next Record, changed bool) {
	if !r.Active() {
		return r, false
	}
	next = r
	next.Segment.Status = filter.StatusDeleted
	next.Segment.UpdatedAt = nextUpdatedAt(r.Segment.UpdatedAt, now)
	next.Version++
	return next, true
}

// Event returns the change event for a record just written.
func (r Record) Event(t EventType) Event {
	return Event{Type: t, Project: r.Segment.IDProject, Segment: CloneSegment(r.Segment), Version: r.Version}
}
