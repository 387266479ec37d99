package leads

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tidwall/gjson"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

// maxIDGrowth bounds what prepare adds to a lead (an "_id" member of
// at most store.MaxLeadIDLen bytes, escaped): the index's own bound is
// MaxLeadBytes plus this.
const maxIDGrowth = 16 + 6*store.MaxLeadIDLen

// validator checks that a lead is one well-formed JSON object, as the
// index's Upsert does (MatchJSON's validation: the empty segment reads
// nothing).
var validator = func() *segmatch.Program {
	p, err := segmatch.Compile(filter.Segment{Filters: []filter.Filter{}})
	if err != nil {
		panic(err)
	}
	return p
}()

// prepare checks a lead and returns it as it is stored and indexed, with
// its id. pathID is the id of a PUT's path ("" for a bulk line): a lead
// without any id field gets "_id": pathID; one with an id must carry
// pathID. The id is read as the index reads it: the first of
// audience.DefaultIDFields holding a non-empty string or a number.
func prepare(lim Limits, pathID string, raw []byte, line int) ([]byte, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > lim.MaxLeadBytes {
		return nil, "", &LeadError{Line: line, ID: pathID, Kind: ErrLeadTooLarge,
			Cause: fmt.Errorf("%d bytes, the most allowed is %d", len(raw), lim.MaxLeadBytes)}
	}
	if _, err := validator.MatchJSON(raw); err != nil {
		return nil, "", &LeadError{Line: line, ID: pathID, Kind: ErrBadLead, Cause: err}
	}
	id, field := audience.ContactID(raw, nil)
	present := field // the first id field there (pointed at when none holds an id)
	for _, k := range audience.DefaultIDFields {
		if k == field {
			break
		}
		if gjson.GetBytes(raw, k).Exists() {
			present = k
			break
		}
	}
	switch {
	case pathID != "" && present == "":
		if err := store.CheckLeadID(pathID); err != nil {
			return nil, "", &LeadError{Line: line, ID: pathID, Kind: ErrBadLead, Cause: err}
		}
		raw = withID(raw, pathID)
		id = pathID
	case id == "" && present != "":
		return nil, "", &LeadError{Line: line, ID: pathID, Path: "/" + present, Kind: ErrBadLead,
			Cause: errors.New("a lead's id is a non-empty string or a number")}
	case id == "":
		return nil, "", &LeadError{Line: line, Path: "/_id", Kind: ErrBadLead, Cause: audience.ErrNoID}
	case pathID != "" && id != pathID:
		return nil, "", &LeadError{Line: line, ID: pathID, Path: "/" + field, Kind: ErrBadLead,
			Cause: fmt.Errorf("the lead's id %q is not the one of its path, %q", clip(id), clip(pathID))}
	}
	if err := store.CheckLeadID(id); err != nil {
		return nil, "", &LeadError{Line: line, Path: "/" + field, Kind: ErrBadLead, Cause: err}
	}
	return raw, id, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// withID returns the object obj with "_id": id as its first member.
func withID(obj []byte, id string) []byte {
	q, _ := json.Marshal(id)
	out := make([]byte, 0, len(obj)+len(q)+8)
	out = append(out, `{"_id":`...)
	out = append(out, q...)
	rest := bytes.TrimSpace(obj[1:])
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// PutResult says what a Put did.
type PutResult struct {
	ID      string
	Created bool // a new lead (else it replaced one)
	Events  int  // segments entered or left
}

// Put stores one lead and indexes it: the id of its path (pathID) and
// its JSON (see prepare). It is acknowledged (returns nil) only once
// stored durably.
func (h *Hub) Put(ctx context.Context, project, pathID string, raw []byte) (PutResult, error) {
	doc, id, err := prepare(h.lim, pathID, raw, 0)
	if err != nil {
		return PutResult{}, err
	}
	p, err := h.project(ctx, project)
	if err != nil {
		return PutResult{}, err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	old, existed := p.ix.Lookup(id)
	if !existed && h.full(p, 1) || h.fullBytes(p, len(doc)) {
		return PutResult{}, h.fullError(p, id, 0)
	}
	wctx, err := h.writeCtx(ctx)
	if err != nil {
		return PutResult{}, err
	}
	if err := h.st.PutLeads(wctx, project, []store.Lead{{ID: id, Raw: doc}}); err != nil {
		return PutResult{}, h.isClosed(err)
	}
	evs, err := p.ix.Upsert(doc)
	if err != nil {
		h.undo(project, id, old, existed, err)
		return PutResult{}, &LeadError{ID: id, Kind: ErrBadLead, Cause: err}
	}
	p.ev.publish(evs)
	return PutResult{ID: id, Created: !existed, Events: len(evs)}, nil
}

// undo puts back the stored lead the index refused (prepare accepts
// what the index does: not expected).
func (h *Hub) undo(project, id string, old []byte, existed bool, cause error) {
	ctx := context.WithoutCancel(h.ctx)
	var err error
	if existed {
		err = h.st.PutLeads(ctx, project, []store.Lead{{ID: id, Raw: bytes.Clone(old)}})
	} else {
		err = h.st.DeleteLead(ctx, project, id)
	}
	h.log.Error("the index refused a stored lead; the store was put back", "project", project, "lead", id, "cause", cause, "err", err)
}

// full reports whether adding n leads takes the project over its limit.
func (h *Hub) full(p *project, n int) bool {
	return h.lim.MaxProjectLeads >= 0 && p.ix.Len()+n > h.lim.MaxProjectLeads
}

// fullBytes reports whether n more bytes of leads take the project over
// MaxProjectBytes (a replaced lead's old bytes are not taken off: the
// bound is conservative by at most one batch).
func (h *Hub) fullBytes(p *project, n int) bool {
	return h.lim.MaxProjectBytes >= 0 && p.ix.RawBytes()+n > h.lim.MaxProjectBytes
}

func (h *Hub) fullError(p *project, id string, line int) error {
	return &LeadError{Line: line, ID: id, Kind: ErrProjectFull,
		Cause: fmt.Errorf("the project holds %d leads (%d bytes), the most allowed is %d leads, %d bytes; delete some first",
			p.ix.Len(), p.ix.RawBytes(), h.lim.MaxProjectLeads, h.lim.MaxProjectBytes)}
}

// Delete removes a lead: from the store, then from the index (it leaves
// its segments: the events). An unknown id is store.ErrLeadNotFound.
// Once the store write has started, the request's cancellation does not
// stop it (see writeCtx): the index always follows the store. A lead the
// index holds but the store no longer does (deleted through another
// instance sharing the store) leaves the index too.
func (h *Hub) Delete(ctx context.Context, project, id string) error {
	p, err := h.project(ctx, project)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, ok := p.ix.Lookup(id); !ok {
		return store.ErrLeadNotFound
	}
	wctx, err := h.writeCtx(ctx)
	if err != nil {
		return err
	}
	if err := h.st.DeleteLead(wctx, project, id); err != nil && !errors.Is(err, store.ErrLeadNotFound) {
		return h.isClosed(err)
	}
	evs, err := p.ix.Remove(id)
	if err != nil {
		return err
	}
	p.ev.publish(evs)
	return nil
}

// Get returns a lead's JSON, as stored (read only).
func (h *Hub) Get(ctx context.Context, project, id string) ([]byte, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return nil, err
	}
	raw, ok := p.ix.Lookup(id)
	if !ok {
		return nil, store.ErrLeadNotFound
	}
	return raw, nil
}

// Report is what a bulk request did.
type Report struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []LineError `json:"errors"`
	// ErrorsTruncated: more lines were rejected than Errors lists
	// (MaxReportedErrors).
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`
}

// LineError is one rejected line of a bulk request.
type LineError struct {
	Line    int    `json:"line"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	err     error
}

// Err is the line's error (a *LeadError).
func (e LineError) Err() error { return e.err }

// MaxReportedErrors bounds the rejected lines a Report lists.
const MaxReportedErrors = 1000

// Batching of bulk requests: one store write a batch.
const (
	batchLeads = 1000
	batchBytes = 4 << 20
)

func (r *Report) reject(err error) {
	r.Rejected++
	if len(r.Errors) >= MaxReportedErrors {
		r.ErrorsTruncated = true
		return
	}
	le := LineError{Message: err.Error(), err: err}
	var lerr *LeadError
	if errors.As(err, &lerr) {
		le.Line, le.Path = lerr.Line, lerr.Path
		le.Message = lerr.Kind.Error()
		if lerr.Cause != nil {
			le.Message += ": " + lerr.Cause.Error()
		}
	}
	r.Errors = append(r.Errors, le)
}

// pending is a bulk line accepted by prepare, not yet stored.
type pending struct {
	line int
	id   string
	raw  []byte
}

// Bulk reads JSON Lines (one lead a line, blank lines skipped) and
// stores and indexes them, a batch at a time (one durable store write
// each, then the index, then the events). A line that is not a lead
// (see prepare), too large, or over the project's limit is rejected and
// reported with its line number; the others are applied. An accepted
// line is stored before Bulk returns, whatever happens after it.
//
// More than MaxBulkLeads leads or MaxBulkBytes bytes, a body that cannot
// be read or a store that fails end the request: a *BulkError, whose
// Line is the first line not applied and whose Report accounts for
// every line before it (and none after: a batch the store refused is
// not reported, its lines are to be sent again). batched, when set, is
// called after each batch.
func (h *Hub) Bulk(ctx context.Context, project string, body io.Reader, batched func()) (Report, error) {
	p, err := h.project(ctx, project)
	if err != nil {
		return Report{Errors: []LineError{}}, err
	}
	rep, err := readBulk(h.lim, body, batched, func(batch []pending, rep *Report) ([]error, error) {
		return h.apply(ctx, p, batch, rep)
	})
	if err == nil {
		h.indexPaths(p)
	}
	return rep, err
}

// readBulk reads a bulk request's JSON Lines under lim (see Bulk),
// handing apply the prepared leads a batch at a time: apply counts the
// accepted ones in rep and returns the rejected ones, or fails (then
// none of the batch was applied).
func readBulk(lim Limits, body io.Reader, batched func(), apply func([]pending, *Report) ([]error, error)) (Report, error) {
	rep := Report{Errors: []LineError{}}
	var batch []pending
	var held []error // the rejected lines since the last flush
	size := 0
	from := 1 // the first line not applied yet (nor reported)
	// flush applies the batch and reports the lines before next.
	flush := func(next int) error {
		if len(batch) > 0 {
			rejected, err := apply(batch, &rep)
			batch, size = batch[:0], 0
			if batched != nil {
				batched()
			}
			if err != nil {
				held = held[:0]
				return err
			}
			held = append(held, rejected...)
		}
		slices.SortStableFunc(held, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
		for _, e := range held {
			rep.reject(e)
		}
		held, from = held[:0], next
		return nil
	}
	// stop ends the request at line ln (not applied), after applying the
	// lines before it.
	stop := func(ln int, err error) (Report, error) {
		if ferr := flush(ln); ferr != nil {
			err = ferr
		}
		return rep, &BulkError{Report: rep, Line: from, Err: err}
	}
	br := bufio.NewReaderSize(body, 64<<10)
	max := lim.MaxLeadBytes + 1
	var line []byte
	leads := 0
	var read int64 // the body's bytes read
	for ln := 1; ; ln++ {
		line = line[:0]
		tooLong, eof := false, false
		for {
			chunk, err := br.ReadSlice('\n')
			read += int64(len(chunk))
			if lim.MaxBulkBytes >= 0 && read > lim.MaxBulkBytes {
				return stop(ln, fmt.Errorf("%w: the body is over %d bytes (the most allowed, --max-bulk-bytes); this line and the ones after it were not applied", ErrBulkTooLarge, lim.MaxBulkBytes))
			}
			if !tooLong {
				if len(line)+len(chunk) > max+1 { // +1: the newline
					tooLong = true
				} else {
					line = append(line, chunk...)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				return stop(ln, fmt.Errorf("reading the body: %w", err))
			}
			break
		}
		blank := !tooLong && len(bytes.TrimSpace(line)) == 0
		if !blank {
			leads++
			if lim.MaxBulkLeads >= 0 && leads > lim.MaxBulkLeads {
				return stop(ln, fmt.Errorf("%w: the most allowed is %d; this line and the ones after it were not read", ErrTooManyLeads, lim.MaxBulkLeads))
			}
			if tooLong {
				held = append(held, &LeadError{Line: ln, Kind: ErrLeadTooLarge, Cause: fmt.Errorf("the line is over %d bytes", lim.MaxLeadBytes)})
			} else if doc, id, err := prepare(lim, "", line, ln); err != nil {
				held = append(held, err)
			} else {
				batch = append(batch, pending{line: ln, id: id, raw: bytes.Clone(doc)})
				size += len(doc)
				if len(batch) >= batchLeads || size >= batchBytes {
					if err := flush(ln + 1); err != nil {
						return rep, &BulkError{Report: rep, Line: from, Err: err}
					}
				}
			}
		}
		if eof {
			if err := flush(ln + 1); err != nil {
				return rep, &BulkError{Report: rep, Line: from, Err: err}
			}
			return rep, nil
		}
	}
}

// lineOf is the line of a rejected line's error.
func lineOf(err error) int {
	var le *LeadError
	if errors.As(err, &le) {
		return le.Line
	}
	return 0
}

// indexPaths indexes the field paths the project's segments read that
// are not indexed, in one pass over its leads, so that the previews after
// a bulk load do not each index them (a pass over every lead each, while
// the others wait): a load changing more than a third of the leads
// drops the paths rather than catching them up (see the audience package
// doc), and a load into an empty index has none yet. Nothing to index
// costs a walk of the segments.
func (h *Hub) indexPaths(p *project) {
	p.wmu.Lock()
	segs := p.segs
	p.wmu.Unlock()
	p.ix.IndexPaths(segs)
}

// apply stores and indexes one batch of a bulk request, counting the
// accepted lines in rep, and returns the rejected ones (none when it
// fails: then nothing of the batch was stored).
func (h *Hub) apply(ctx context.Context, p *project, batch []pending, rep *Report) ([]error, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	// The project's limit, counting each new id once.
	added := map[string]bool{}
	leads := make([]store.Lead, 0, len(batch))
	keep := make([]pending, 0, len(batch))
	var rejected []error
	size := 0 // the batch's bytes, counted against MaxProjectBytes
	for _, b := range batch {
		if h.fullBytes(p, size+len(b.raw)) {
			rejected = append(rejected, h.fullError(p, b.id, b.line))
			continue
		}
		if _, ok := p.ix.Lookup(b.id); !ok && !added[b.id] {
			if h.full(p, len(added)+1) {
				rejected = append(rejected, h.fullError(p, b.id, b.line))
				continue
			}
			added[b.id] = true
		}
		size += len(b.raw)
		leads = append(leads, store.Lead{ID: b.id, Raw: b.raw})
		keep = append(keep, b)
	}
	if len(leads) == 0 {
		return rejected, nil
	}
	wctx, err := h.writeCtx(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.st.PutLeads(wctx, p.id, leads); err != nil {
		return nil, h.isClosed(err)
	}
	var evs []audience.Event
	for _, b := range keep {
		old, existed := p.ix.Lookup(b.id)
		e, err := p.ix.Upsert(b.raw)
		if err != nil {
			// Not expected (prepare checks what Upsert checks): the
			// store is put back as the index holds it.
			h.undo(p.id, b.id, old, existed, err)
			rejected = append(rejected, &LeadError{Line: b.line, ID: b.id, Kind: ErrBadLead, Cause: err})
			continue
		}
		rep.Accepted++
		evs = append(evs, e...)
	}
	p.ev.publish(evs)
	return rejected, nil
}

// writeCtx is the context of a store write for a request of context
// ctx: a request already cancelled writes nothing, but once the write
// has started the request's cancellation cannot cut it (a store that
// committed, then saw the cancellation, would answer an error: the
// index would not follow a committed write). Only Close ends it.
func (h *Hub) writeCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return h.ctx, nil
}
