package memory

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sort"

	"github.com/segmatch/segmatch/store"
)

// memLead is a lead and its place in the project's order.
type memLead struct {
	seq uint64
	raw []byte
}

// leadsOf is a project's leads (under mu).
type leadsOf struct {
	seq  uint64
	byID map[string]*memLead
}

// PutLeads implements store.LeadStore.
func (s *Store) PutLeads(ctx context.Context, project string, leads []store.Lead) error {
	if err := begin(ctx, project); err != nil {
		return err
	}
	if err := store.CheckLeads(project, leads); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	p := s.leads[project]
	if p == nil {
		p = &leadsOf{byID: map[string]*memLead{}}
		s.leads[project] = p
	}
	for _, l := range leads {
		raw := bytes.Clone(l.Raw)
		if old := p.byID[l.ID]; old != nil {
			old.raw = raw
			continue
		}
		p.seq++
		p.byID[l.ID] = &memLead{seq: p.seq, raw: raw}
	}
	return nil
}

// DeleteLead implements store.LeadStore.
func (s *Store) DeleteLead(ctx context.Context, project, id string) error {
	if err := begin(ctx, project); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	p := s.leads[project]
	if p == nil || p.byID[id] == nil {
		return store.ErrLeadNotFound
	}
	delete(p.byID, id)
	if len(p.byID) == 0 {
		delete(s.leads, project)
	}
	return nil
}

// ForEachLead implements store.LeadStore. fn runs outside the lock, on
// a snapshot of the project's leads.
func (s *Store) ForEachLead(ctx context.Context, project string, fn func(id string, raw []byte) error) error {
	if err := begin(ctx, project); err != nil {
		return err
	}
	type entry struct {
		seq uint64
		id  string
		raw []byte
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	var all []entry
	if p := s.leads[project]; p != nil {
		all = make([]entry, 0, len(p.byID))
		for id, l := range p.byID {
			all = append(all, entry{l.seq, id, l.raw})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e.id, e.raw); err != nil {
			return err
		}
	}
	return nil
}

// LeadProjects implements store.LeadStore.
func (s *Store) LeadProjects(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	out := make([]string, 0, len(s.leads))
	for p := range s.leads {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
