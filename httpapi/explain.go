package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/internal/rawjson"
)

// explain answers why the body's contact (one JSON object, the shape
// /match takes for a single contact) is or is not in one segment: the
// whole evaluation, every group and condition with its result and what
// the contact holds at its field (segmatch.Explanation). Its result is
// /match's answer. As for /match: 404 for an unknown segment, 400 for a
// body that is not one JSON object, 422 for a stored segment beyond the
// current bounds.
func (a *API) explain(w http.ResponseWriter, r *http.Request, c call) error {
	seg, err := a.st.Get(r.Context(), c.project, r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	// The body is checked before the segment's program is looked at, as
	// /match does, and with MatchJSON's own reading of JSON.
	if err := contactErr(rawjson.ValidateObject(body)); err != nil {
		return err
	}
	prog, err := a.storedProgram(c.project, seg)
	if err != nil {
		return err
	}
	x, err := prog.ExplainJSON(body)
	if err != nil {
		return contactErr(err)
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

// contactErr words MatchJSON's error for a body as /match words
// decodeContacts': well-formed JSON that is not an object is an invalid
// contact, anything else malformed JSON.
func contactErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, segmatch.ErrNotObject):
		return &contactError{path: ""}
	}
	return fmt.Errorf("%w: %v", errBadJSON, err)
}
