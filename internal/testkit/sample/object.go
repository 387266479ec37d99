package sample

import (
	"bytes"
	"encoding/json"
)

// KV is one member of an Object.
type KV struct {
	K string
	V any
}

// Object is a JSON object whose members keep the order they were added in,
// so that a generated lead reads like a Tiledesk export (`_id` first) and
// so that the difference between a missing key and a null value is
// explicit: a key is either in the list (possibly with a nil value, JSON
// null) or not.
type Object []KV

// MarshalJSON writes the members in order, without HTML escaping.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encodeTo(&b, kv.K); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encodeTo(&b, kv.V); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the value of key k and whether it is present.
func (o Object) Get(k string) (any, bool) {
	for _, kv := range o {
		if kv.K == k {
			return kv.V, true
		}
	}
	return nil, false
}

// encodeTo appends the JSON encoding of v without a trailing newline and
// without escaping <, > and & (operators such as ">=" stay readable).
func encodeTo(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}
