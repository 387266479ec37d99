package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
)

const timeLayout = filter.TimeLayout

// errWeakIfMatch: an If-Match holding a weak entity tag, which never
// matches (RFC 9110 §13.1.1 compares strongly): 412, nothing changes.
var errWeakIfMatch = errors.New("If-Match: a weak entity tag never matches")

// listBody is the list answer, as Tiledesk's.
type listBody struct {
	PerPage  int              `json:"perPage"`
	Count    int              `json:"count"`
	Segments []filter.Segment `json:"segments"`
}

func (a *API) list(w http.ResponseWriter, r *http.Request, c call) error {
	opts, err := store.ParseListOptions(r.URL.Query())
	if err != nil {
		return err
	}
	segs, total, err := a.st.List(r.Context(), c.project, opts)
	if err != nil {
		return err
	}
	if segs == nil {
		segs = []filter.Segment{}
	}
	writeJSON(w, http.StatusOK, listBody{PerPage: opts.Limit, Count: total, Segments: segs})
	return nil
}

// writeSegment answers one segment with its ETag.
func writeSegment(w http.ResponseWriter, seg filter.Segment) {
	w.Header().Set("ETag", etag(seg.UpdatedAt))
	writeJSON(w, http.StatusOK, seg)
}

// observe tells the classifiers of a write, when they listen, and has
// the project's audience index register the segments again (backfill,
// enter/exit events) before the write is answered.
func (a *API) observe(project string, seg filter.Segment) {
	if o, ok := a.cls.(observer); ok {
		o.Observe(project, seg)
	}
	a.segmentsChanged(project, seg)
}

// create stores the body's name, match and filters; the id, project,
// creator and timestamps come from the server, never the body.
func (a *API) create(w http.ResponseWriter, r *http.Request, c call) error {
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	def, err := filter.DecodeSegment(body)
	if err != nil {
		return err
	}
	seg, err := a.st.Create(r.Context(), c.project, c.who.ID, def)
	if err != nil {
		return err
	}
	a.observe(c.project, seg)
	writeSegment(w, seg)
	return nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request, c call) error {
	seg, err := a.st.Get(r.Context(), c.project, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeSegment(w, seg)
	return nil
}

// update replaces the name, match and filters that the body carries (as
// Tiledesk's PUT); a key whose value is null is left unchanged, as one
// that is absent (Tiledesk's `!= undefined`: dropNullMembers); the other keys of a segment document (_id,
// createdAt, ...) are ignored, and any key outside them is refused as
// everywhere (a typo must not pass for a change). If-Match, when given, must be
// the segment's current updatedAt (or the strong ETag holding it), else
// 409; a weak ETag (W/"...") never matches: 412.
func (a *API) update(w http.ResponseWriter, r *http.Request, c call) error {
	ifAt, err := parseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	body = dropNullMembers(body)
	def, err := filter.DecodeSegment(body)
	if err != nil {
		return err
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(body, &present); err != nil {
		return fmt.Errorf("%w: %v", errBadJSON, err) // DecodeSegment accepted it: not expected
	}
	upd := store.SegmentUpdate{IfUpdatedAt: ifAt}
	if _, ok := present["name"]; ok {
		upd.Name = &def.Name
	}
	if _, ok := present["match"]; ok {
		upd.Match = &def.Match
	}
	if _, ok := present["filters"]; ok {
		if def.Filters == nil {
			def.Filters = []filter.Filter{}
		}
		upd.Filters = &def.Filters
	}
	seg, err := a.st.Update(r.Context(), c.project, r.PathValue("id"), upd)
	if err != nil {
		return err
	}
	a.observe(c.project, seg)
	writeSegment(w, seg)
	return nil
}

// delete soft-deletes a segment and answers it with status 0. A segment
// already deleted is not found, like any other deleted id.
func (a *API) delete(w http.ResponseWriter, r *http.Request, c call) error {
	id := r.PathValue("id")
	if _, err := a.st.Get(r.Context(), c.project, id); err != nil {
		return err
	}
	seg, err := a.st.Delete(r.Context(), c.project, id)
	if err != nil {
		return err
	}
	a.observe(c.project, seg)
	writeSegment(w, seg)
	return nil
}

// match answers whether one segment matches the body's contact(s):
// {"match": bool} for an object, {"matches": [bool...]} for an array.
func (a *API) match(w http.ResponseWriter, r *http.Request, c call) error {
	seg, err := a.st.Get(r.Context(), c.project, r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	contacts, single, err := decodeContacts(body)
	if err != nil {
		return err
	}
	prog, err := a.storedProgram(c.project, seg)
	if err != nil {
		return err
	}
	if single {
		writeJSON(w, http.StatusOK, map[string]bool{"match": prog.Match(contacts[0])})
		return nil
	}
	out := make([]bool, len(contacts))
	for i, ct := range contacts {
		out[i] = prog.Match(ct)
	}
	writeJSON(w, http.StatusOK, map[string][]bool{"matches": out})
	return nil
}

// storedProgram is the program kept for this version of a stored segment
// (compiled once, when written or first matched), never compiled per
// request. Stored segments compiled when written; one that no longer does
// was written before a bound it exceeds now (errStoredInvalid, 422).
// Anything else (a compiler panic recovered) is ours: a 500.
func (a *API) storedProgram(project string, seg filter.Segment) (*segmatch.Program, error) {
	prog, err := a.progs.Program(project, seg)
	if err != nil {
		if len(store.Problems(err)) == 0 {
			return nil, fmt.Errorf("compiling stored segment %s: %w", seg.ID, err)
		}
		return nil, fmt.Errorf("%w: %s: %v", errStoredInvalid, seg.ID, err)
	}
	return prog, nil
}

// classified is the answer for one contact.
type classified struct {
	Segments []string `json:"segments"`
}

// classify answers, for each contact of the body, the ids of the
// project's active segments it belongs to, from the keeper's current
// classifier (which reflects this API's own writes at once: see package
// keeper on the overlay): {"segments": [...]} for an object, {"results":
// [{"segments": [...]}, ...]} for an array.
func (a *API) classify(w http.ResponseWriter, r *http.Request, c call) error {
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	contacts, single, err := decodeContacts(body)
	if err != nil {
		return err
	}
	cl, err := a.cls.Get(r.Context(), c.project)
	if err != nil {
		return err
	}
	results := make([]classified, len(contacts))
	for i, ct := range contacts {
		ids := cl.ClassifyMap(ct)
		if ids == nil {
			ids = []string{}
		}
		results[i] = classified{Segments: ids}
	}
	a.metrics.classified.WithLabelValues(c.project).Add(float64(len(contacts)))
	if single {
		writeJSON(w, http.StatusOK, results[0])
		return nil
	}
	writeJSON(w, http.StatusOK, map[string][]classified{"results": results})
	return nil
}
