package audience

// Stats is what an index holds and what it costs.
type Stats struct {
	Contacts int // present
	Segments int // registered
	// RawBytes is the contacts' JSON, kept for the conditions the field
	// index cannot decide and for backfilling a new segment.
	RawBytes int
	// MemberBytes is the registered segments' member bitmaps (serialized
	// size, close to their size in memory).
	MemberBytes int
	// IndexedPaths is the number of field paths the field index keeps
	// (indexed by the queries so far, dropped when too many contacts
	// changed between two queries); FieldIndexBytes estimates their
	// memory.
	IndexedPaths    int
	FieldIndexBytes int
	// PendingBytes is what the index holds of the contacts changed since
	// it was last brought up to date: the versions the field index's paths
	// hold (until the next query catches them up; none when no path is
	// indexed), and the memberships the segments' bitmaps hold (until the
	// next reader of them).
	PendingBytes int
	// OverheadBytes estimates the rest: ids, the id table, the number
	// table.
	OverheadBytes int
}

// PerContact is what the index costs per contact beyond the raw contacts.
func (s Stats) PerContact() float64 {
	if s.Contacts == 0 {
		return 0
	}
	return float64(s.MemberBytes+s.FieldIndexBytes+s.PendingBytes+s.OverheadBytes) / float64(s.Contacts)
}

// Stats reports the index's contents and memory. It is read only: it
// does none of the upkeep writes defer (the package doc), so the member
// bitmaps are measured as they are, and what they still lack is in
// PendingBytes.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := Stats{Contacts: len(ix.byID), Segments: len(ix.reg.keys), RawBytes: ix.bytes}
	s.IndexedPaths, s.FieldIndexBytes, s.PendingBytes = ix.fields.bytes()
	s.MemberBytes, s.PendingBytes = ix.reg.sizes(s.PendingBytes)
	for _, id := range ix.ids {
		s.OverheadBytes += len(id) + 16 + 24 + 4 // the string and its header, the raws slot, a byID share
	}
	s.OverheadBytes += len(ix.byID) * 48                         // map entries
	s.OverheadBytes += len(ix.num.gone)*48 + len(ix.num.prev)*16 // removed ids, until renumbered
	s.OverheadBytes += int(ix.live.GetSerializedSizeInBytes())
	s.OverheadBytes += 8*len(ix.reg.pendSet) + 8*len(ix.fields.pendSet) // a bit a contact each: which are pending
	return s
}
