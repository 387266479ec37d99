package store

import (
	"strconv"

	"github.com/segmatch/segmatch/filter"
)

// EventType says what happened to a segment.
type EventType int

const (
	// EventCreated: Segment was created.
	EventCreated EventType = iota + 1
	// EventUpdated: Segment is the new state.
	EventUpdated
	// EventDeleted: Segment was soft-deleted (its Status is
	// filter.StatusDeleted).
	EventDeleted
	// EventResync: events were dropped because the subscriber fell behind
	// (see Store.Watch), or an implementation could not deliver them;
	// re-read the state with List. Segment is zero.
	EventResync
)

func (t EventType) String() string {
	switch t {
	case EventCreated:
		return "created"
	case EventUpdated:
		return "updated"
	case EventDeleted:
		return "deleted"
	case EventResync:
		return "resync"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one change in a project, delivered by Store.Watch.
type Event struct {
	Type    EventType
	Project string
	// Segment is the segment after the change. It is shared by every
	// subscriber: treat it as read-only (copy with CloneSegment to modify).
	Segment filter.Segment
	// Version is the segment's version after the change: 1 when created,
	// one more at each update and at the delete.
	Version uint64
}
