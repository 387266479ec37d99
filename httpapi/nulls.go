package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
)

// dropNullMembers returns body without the members of its top-level
// object whose value is null: for a PUT, where Tiledesk's route skips a
// key that is null as one that is absent (`req.body.name != undefined`),
// so {"name": null} leaves the name unchanged. Every other member is
// kept as written, in order, so the problems found in what remains carry the
// pointers they would have had. A body that is not one well-formed JSON
// object, or that repeats a key (null or not), is returned as it is,
// for the decoder to report.
func dropNullMembers(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return body
	}
	out := make([]byte, 0, len(body))
	out = append(out, '{')
	dropped := false
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return body
		}
		key, ok := tok.(string)
		if !ok || seen[key] {
			return body // a repeated key, null or not, stays for the decoder to refuse
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return body
		}
		if string(v) == "null" {
			dropped = true
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		k, err := json.Marshal(key)
		if err != nil {
			return body
		}
		out = append(append(append(out, k...), ':'), v...)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return body
	}
	if _, err := dec.Token(); err != io.EOF {
		return body // data after the object: the decoder says so
	}
	if !dropped {
		return body
	}
	return append(out, '}')
}
