package operators

// What segmatch's Explain reports of a field's value: never read when a
// condition is decided.

// FanOut reports whether v is the virtual array of a fan-out path (the
// values the rest of the path reached in each element of an array; Any
// iterates them).
func (v Value) FanOut() bool { return v.kind == Array && v.fan != nil }

// RawJSON returns the text of an array or object read from raw JSON (not
// a fan-out), as the contact wrote it.
func (v Value) RawJSON() (string, bool) {
	if (v.kind == Array || v.kind == Object) && v.fan == nil && v.ref == nil && v.str != "" {
		return v.str, true
	}
	return "", false
}
