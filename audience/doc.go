// Package audience answers the question a campaign sender asks before
// every send: which contacts are in this segment, how many, and who
// entered or left it. It holds contacts in memory, each under a dense
// internal number, and keeps the members of every registered segment as a
// compressed bitmap (roaring), updated as contacts change, with an event
// for every contact that enters or leaves a segment. Any other segment
// can be asked for its members without a scan: a per-field index over
// the values contacts hold decides the conditions it can, and the
// compiled program decides the rest on the candidates left.
//
// Concurrency: an Index is safe for concurrent use. Writes (Upsert,
// Remove, SetSegments, Refresh, ...) are serialized, one at a time; reads
// (Count, Members, Query, ...) run concurrently with each other and see
// the index between two writes, never half a write. Events of a write are
// delivered, in order, before the write returns.
//
// Cost: an Upsert classifies the contact (one validating pass of the
// engine), finds its number and compares the result with the contact's
// packed memberships: the events are known at once. What it would cost
// to keep the segments' member bitmaps and the field index's paths
// current is deferred: the write records the contact as pending, and the
// first read after writes that needs them (Count, Members or Segment for
// the bitmaps, Query for the paths) brings them up to date in one batch,
// each pending contact once however often it changed, while the reads
// beside it wait. Answers are always those of an index current with
// every write before them.
//
// Memory: raw contacts are kept (their JSON, as given), because conditions
// the field index cannot decide and a newly registered segment are
// evaluated on them; Stats reports what the index costs beyond them,
// what is pending included, without doing any of the deferred upkeep.
// Every part is bounded:
//
//   - The field index keeps at most Options.MaxIndexedPaths paths
//     (default 256, or the paths of the one query that needs more):
//     indexing one more evicts the least recently used, indexed again when
//     a query needs it.
//   - The versions the paths still hold of contacts changed since the
//     last query are at most max(4096, a third of the contacts) contacts
//     and max(64 MiB, a third of the raw contacts' bytes): past either,
//     the paths are dropped and indexed again when a query needs them.
//   - The rows the member bitmaps still lack are at most max(16384, half
//     the contacts): past it the writer applies them itself.
//   - A removed contact's id and number are kept (a set taken before
//     still names its members by them, and a Query's Contains agrees with
//     its IDs: a removed id upserted again gets a new number, last in the
//     index's order, and the set knows both) until the removed contacts
//     outnumber max(4096, the live ones): then the index renumbers the
//     live contacts (the member bitmaps follow; the field index's paths
//     are dropped and indexed again when a query needs them). A set taken
//     before keeps its own numbering; combined with a later one, or
//     paged by Slice, it is read in the later numbering, where the
//     contacts removed before the renumbering are no longer.
package audience
