package leads

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/filter"
)

// Page is a page of a set of leads: how many the set holds, and the
// page's leads (ids and JSON, the index's own slices: read only), in the
// order leads were first stored.
type Page struct {
	Count int
	IDs   []string
	Raws  [][]byte
}

// segment is a registered segment's members. A segment the index does
// not hold (written elsewhere since the last registration) makes the
// project's segments registered again, once; one still missing is
// ErrNotIndexed (the caller checked that the segment is stored).
func (h *Hub) segment(ctx context.Context, p *project, id string) (*audience.Query, error) {
	q, err := p.ix.Segment(id)
	if errors.Is(err, audience.ErrNotFound) {
		if err := h.SegmentsChanged(ctx, p.id); err != nil {
			return nil, err
		}
		q, err = p.ix.Segment(id)
	}
	if errors.Is(err, audience.ErrNotFound) {
		return nil, fmt.Errorf("segment %s: %w", id, ErrNotIndexed)
	}
	return q, err
}

// Count is the number of leads in a stored segment.
func (h *Hub) Count(ctx context.Context, project, segment string) (int, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return 0, err
	}
	n, err := p.ix.Count(segment)
	if errors.Is(err, audience.ErrNotFound) {
		q, err := h.segment(ctx, p, segment)
		if err != nil {
			return 0, err
		}
		return q.Count(), nil
	}
	return n, err
}

// Members is a page of a stored segment's leads: limit of them after
// skipping offset.
func (h *Hub) Members(ctx context.Context, project, segment string, offset, limit int) (Page, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return Page{}, err
	}
	q, err := h.segment(ctx, p, segment)
	if err != nil {
		return Page{}, err
	}
	return pageOf(q, offset, limit), nil
}

// Preview answers an unsaved segment (already validated) from the
// index, without a scan: how many leads it holds now and its first
// limit leads.
func (h *Hub) Preview(ctx context.Context, project string, seg filter.Segment, limit int) (Page, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return Page{}, err
	}
	q, err := p.ix.Query(seg)
	if err != nil {
		return Page{}, err
	}
	return pageOf(q, 0, limit), nil
}

func pageOf(q *audience.Query, offset, limit int) Page {
	ids, raws := q.Slice(offset, limit)
	if ids == nil {
		ids, raws = []string{}, [][]byte{}
	}
	return Page{Count: q.Count(), IDs: ids, Raws: raws}
}

// Subscribe starts a stream of the project's events (of one segment
// when segment is not ""). lastEventID is the id of the last event the
// client saw ("" for none: from now on): the events after it that are
// still in the window come first (Stream.Backlog); an id out of the
// window, or of an earlier run, sets Stream.Reset instead.
func (h *Hub) Subscribe(ctx context.Context, project, lastEventID, segment string) (*Stream, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return nil, err
	}
	if lastEventID == "" {
		return p.ev.subscribe(0, false, segment)
	}
	seq, ok := h.parseEventID(lastEventID)
	if !ok {
		s, err := p.ev.subscribe(0, false, segment)
		if s != nil {
			s.Reset = true
		}
		return s, err
	}
	return p.ev.subscribe(seq, true, segment)
}
