package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/store"
)

// The audience routes (issue 16), on the project's leads held by a
// leads.Hub:
//
//	PUT    {prefix}/{project_id}/leads/{id}             upsert one lead (JSON)
//	GET    {prefix}/{project_id}/leads/{id}             read it back
//	DELETE {prefix}/{project_id}/leads/{id}             remove it
//	POST   {prefix}/{project_id}/leads/bulk             upsert JSON Lines, a report of rejected lines
//	GET    {prefix}/{project_id}/segments/{id}/leads    members (page, limit)
//	GET    {prefix}/{project_id}/segments/{id}/count    member count
//	POST   {prefix}/{project_id}/segments/preview       an unsaved segment's count and first page
//	GET    {prefix}/{project_id}/segments/events        enter/exit events (Server-Sent Events)

// Stream timing.
const (
	// streamWriteTimeout: a stream's client must take each write within
	// this, or it is disconnected (its queue bounds what waits meanwhile).
	streamWriteTimeout = 10 * time.Second
	// streamPing: a comment line this often keeps idle streams open
	// through proxies.
	streamPing = 15 * time.Second
	// streamRetry is the reconnection delay the stream advises.
	streamRetry = 2000 // ms
	// bulkIdle: a bulk request's body must make progress (a batch) within
	// this; the server's read and write timeouts are moved on at each.
	bulkIdle = 60 * time.Second
)

func (a *API) routeLeads(mux *routeMux) {
	leadsBase := a.prefix + "/{project_id}/leads"
	segs := a.prefix + "/{project_id}/segments"
	mux.Handle("PUT "+leadsBase+"/{id}", a.project(a.putLead))
	mux.Handle("GET "+leadsBase+"/{id}", a.project(a.getLead))
	mux.Handle("DELETE "+leadsBase+"/{id}", a.project(a.deleteLead))
	mux.Handle("POST "+leadsBase+"/bulk", a.project(a.bulkLeads))
	mux.Handle(leadsBase+"/{id}", methodNotAllowed("GET, PUT, DELETE"))
	mux.Handle("GET "+segs+"/{id}/leads", a.project(a.members))
	mux.Handle("GET "+segs+"/{id}/count", a.project(a.count))
	mux.Handle("POST "+segs+"/preview", a.project(a.preview))
	mux.Handle("GET "+segs+"/events", a.project(a.events))
	mux.Handle(segs+"/{id}/leads", methodNotAllowed("GET"))
	mux.Handle(segs+"/{id}/count", methodNotAllowed("GET"))
	// As for classify: these literals would otherwise be read as an {id}.
	for _, m := range []string{"GET ", "PUT ", "DELETE "} {
		mux.Handle(m+segs+"/preview", methodNotAllowed("POST"))
	}
	for _, m := range []string{"PUT ", "DELETE "} {
		mux.Handle(m+segs+"/events", methodNotAllowed("GET"))
	}
}

// readLead reads a PUT lead's body: application/json, at most the
// hub's MaxLeadBytes (a larger one is leads.ErrLeadTooLarge, 413).
func (a *API) readLead(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errMediaType
	}
	max := a.lr.Limits().MaxLeadBytes
	const slack = 64 // whitespace around the lead
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+slack+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", errBadJSON, err)
	}
	// a body longer than the limit and its slack is refused, not cut: what
	// follows the cut was never read
	if len(body) > max+slack || len(bytes.TrimSpace(body)) > max {
		return nil, &leads.LeadError{ID: r.PathValue("id"), Kind: leads.ErrLeadTooLarge,
			Cause: fmt.Errorf("the most allowed is %d bytes", max)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", errBadJSON)
	}
	return body, nil
}

// putLead upserts one lead: {"_id": ..., "created": bool, "events": N}
// (201 for a new lead, 200 for a replaced one), once stored durably.
func (a *API) putLead(w http.ResponseWriter, r *http.Request, c call) error {
	body, err := a.readLead(w, r)
	if err != nil {
		return err
	}
	res, err := a.lr.Put(r.Context(), c.project, r.PathValue("id"), body)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"_id": res.ID, "created": res.Created, "events": res.Events})
	return nil
}

func (a *API) getLead(w http.ResponseWriter, r *http.Request, c call) error {
	raw, err := a.lr.Get(r.Context(), c.project, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, raw)
	return nil
}

func (a *API) deleteLead(w http.ResponseWriter, r *http.Request, c call) error {
	id := r.PathValue("id")
	if err := a.lr.Delete(r.Context(), c.project, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"_id": id, "deleted": true})
	return nil
}

// bulkTypes are the media types a bulk body may be sent as.
var bulkTypes = map[string]bool{"application/x-ndjson": true, "application/jsonl": true,
	"application/json-lines": true, "application/x-jsonlines": true, "application/json": true, "text/plain": true}

// bulkLeads upserts JSON Lines, streamed: {"success": true, "accepted":
// N, "rejected": N, "errors": [{"line", "path", "message"}...]}. A
// request ended early (too many leads: 400; a store failure) answers
// the error with the same counts, and the problem's line.
func (a *API) bulkLeads(w http.ResponseWriter, r *http.Request, c call) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !bulkTypes[mt] {
		return fmt.Errorf("%w (bulk: application/x-ndjson, one lead a line)", errMediaType)
	}
	rc := http.NewResponseController(w)
	extend := func() {
		_ = rc.SetReadDeadline(time.Now().Add(bulkIdle))
		_ = rc.SetWriteDeadline(time.Now().Add(bulkIdle))
	}
	extend()
	rep, err := a.lr.Bulk(r.Context(), c.project, r.Body, extend)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Success bool `json:"success"`
		leads.Report
	}{true, rep})
	return nil
}

// pageParams reads limit and page (as the list's: limit 1..1000,
// default 40; page from 0).
func pageParams(q url.Values) (offset, limit int, err error) {
	only := url.Values{}
	for _, k := range []string{"limit", "page"} {
		if v, ok := q[k]; ok {
			only[k] = v
		}
	}
	o, err := store.ParseListOptions(only)
	if err != nil {
		return 0, 0, err
	}
	return o.Page * o.Limit, o.Limit, nil
}

// writePage answers a page of leads in the list shape: {"perPage",
// "count", "leads": [...]}, the leads as stored.
func writePage(w http.ResponseWriter, p leads.Page, perPage int, extra string) {
	size := 64 + len(extra)
	for _, r := range p.Raws {
		size += len(r) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"perPage":`...)
	b = strconv.AppendInt(b, int64(perPage), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(p.Count), 10)
	b = append(b, extra...)
	b = append(b, `,"leads":[`...)
	for i, r := range p.Raws {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, "]}"...)
	writeRaw(w, http.StatusOK, b)
}

// writeRaw answers JSON already encoded.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// members answers a stored segment's leads, a page at a time, in the
// order leads were first stored.
func (a *API) members(w http.ResponseWriter, r *http.Request, c call) error {
	offset, limit, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := a.st.Get(r.Context(), c.project, id); err != nil {
		return err
	}
	p, err := a.lr.Members(r.Context(), c.project, id, offset, limit)
	if err != nil {
		return err
	}
	writePage(w, p, limit, "")
	return nil
}

// count answers {"count": N} for a stored segment.
func (a *API) count(w http.ResponseWriter, r *http.Request, c call) error {
	id := r.PathValue("id")
	if _, err := a.st.Get(r.Context(), c.project, id); err != nil {
		return err
	}
	n, err := a.lr.Count(r.Context(), c.project, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"count": n})
	return nil
}

// preview answers an unsaved segment (the create body; the name may be
// left out): {"perPage", "count", "took_ms", "leads": [first page]}.
func (a *API) preview(w http.ResponseWriter, r *http.Request, c call) error {
	_, limit, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	def, err := filter.DecodeSegment(body)
	if err != nil {
		return err
	}
	if def.Name == "" {
		def.Name = "preview"
	}
	seg, err := store.Validate(def)
	if err != nil {
		return err
	}
	start := time.Now()
	p, err := a.lr.Preview(r.Context(), c.project, seg, limit)
	if err != nil {
		return err
	}
	took := strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64)
	writePage(w, p, limit, `,"took_ms":`+took)
	return nil
}

// sseEvent is an event's data.
type sseEvent struct {
	Lead    string `json:"lead"`
	Segment string `json:"segment"`
	Entered bool   `json:"entered"`
}

// events streams the project's enter/exit events as Server-Sent Events:
// "event: enter" or "exit", "id: EPOCH-SEQ", "data: {lead, segment,
// entered}". Last-Event-ID (or ?last_event_id=) resumes after that
// event while it is within the window (the project's latest
// EventWindow events, this run of the server); out of it the stream
// opens with "event: reset": re-read counts and members. ?segment=ID
// keeps one segment's events. A client that falls StreamQueue events
// behind, or takes longer than streamWriteTimeout for a write, is
// disconnected (never waited for); it may resume.
func (a *API) events(w http.ResponseWriter, r *http.Request, c call) error {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	segment := r.URL.Query().Get("segment")
	if segment != "" {
		if _, err := a.st.Get(r.Context(), c.project, segment); err != nil {
			return err
		}
	}
	subscribe, _ := a.eventSource()
	st, err := subscribe(r.Context(), c.project, last, segment)
	if err != nil {
		return err
	}
	defer st.Close()
	rc := http.NewResponseController(w)
	// The stream outlives the server's read timeout (it would cancel the
	// request); writes get a deadline each instead.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	buf := fmt.Appendf(nil, "retry: %d\n\n", streamRetry)
	if st.Reset {
		buf = append(buf, "event: reset\ndata: {}\n\n"...)
	}
	for _, e := range st.Backlog {
		buf = a.appendEvent(buf, e)
	}
	if err := write(buf); err != nil {
		return nil
	}
	ping := time.NewTicker(streamPing)
	defer ping.Stop()
	for {
		select {
		case e, ok := <-st.C():
			if !ok {
				if st.Overflowed() {
					_ = write([]byte("event: overflow\ndata: {}\n\n"))
				}
				return nil
			}
			buf = a.appendEvent(buf[:0], e)
			for more := true; more && len(buf) < 64<<10; {
				select {
				case e, ok := <-st.C():
					if !ok {
						more = false
						break
					}
					buf = a.appendEvent(buf, e)
				default:
					more = false
				}
			}
			if err := write(buf); err != nil {
				return nil
			}
		case <-ping.C:
			if err := write([]byte(": ping\n\n")); err != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		}
	}
}

// eventSource is where the event stream comes from: the hub's, or the
// relay's backend when the leads live past one machine.
func (a *API) eventSource() (subscribe func(ctx context.Context, project, lastEventID, segment string) (*leads.Stream, error), id func(leads.Event) string) {
	if a.relay != nil {
		return a.relay.Subscribe, a.relay.EventID
	}
	return a.hub.Subscribe, a.hub.EventID
}

func (a *API) appendEvent(b []byte, e leads.Event) []byte {
	kind := "exit"
	if e.Entered {
		kind = "enter"
	}
	data, _ := json.Marshal(sseEvent{Lead: e.Lead, Segment: e.Segment, Entered: e.Entered})
	b = append(b, "id: "...)
	_, id := a.eventSource()
	b = append(b, id(e)...)
	b = append(b, "\nevent: "...)
	b = append(b, kind...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// segmentsChanged registers a project's segments again in its audience
// index after a write of seg (backfill, events) before it is answered,
// unless the store's change feed did already (once per write). The
// write has succeeded: a failure here is logged, and the store's change
// feed retries it.
func (a *API) segmentsChanged(project string, seg filter.Segment) {
	if a.relay != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.hub.SegmentWritten(ctx, project, seg); err != nil && !errors.Is(err, leads.ErrClosed) {
		a.log.Error("registering the project's segments in its audience index", "project", project, "err", err)
	}
}
