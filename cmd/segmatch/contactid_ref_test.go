package main

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/tidwall/gjson"
)

// This file is the reference classify's id is checked against
// (FuzzContactID, TestContactIDAsGJSON): the id read from the line alone,
// as gjson reads it, fast. classify itself takes the id the engine
// captured in its pass (capturedID).

// contactID is the raw JSON of the contact's id: lead_id, else _id, else
// id, the first that is a string or a number; nil when there is none.
// It is a part of line, read as gjson.GetBytes(line, key) for each key in
// turn reads it (a name's first member counts), but faster (it is a part
// of classify's cost per contact): line is one JSON object (the engine
// accepted it). A line without escapes is searched for the keys
// (plainContactID); another is read member by member at its top level
// (scanContactID); a key with an escape is left to gjson.
func contactID(line []byte) []byte {
	if id, ok := plainContactID(line); ok {
		return id
	}
	if id, ok := scanContactID(line); ok {
		return id
	}
	return gjsonContactID(line)
}

// idPatterns are the idKeys as they are written in a line's JSON.
var idPatterns = [...][]byte{[]byte(`"lead_id"`), []byte(`"_id"`), []byte(`"id"`)}

// plainContactID finds the id of a line without backslashes, where every
// quote opens or closes a string: a byte is outside strings when an even
// number of quotes come before it. A name's first occurrence (idAt) is
// then a top-level key when it is outside strings, followed by a colon,
// and has one object open around it (topLevel): whatever arrays are open
// around a key, an object is open inside them. This reads the line with
// bytes.Index, IndexByte and Count, which read many bytes a step, instead
// of member by member. ok false when it cannot tell (a backslash before
// the id, a name's first occurrence that is not a top-level key): then
// scanContactID reads the line.
func plainContactID(line []byte) (id []byte, ok bool) {
	if i := skipJSONSpace(line, 0); i >= len(line) || line[i] != '{' {
		return nil, false
	}
	plain := 0 // line[:plain] has no backslash
	for k, pat := range idPatterns {
		p := idAt(line, k)
		if p < 0 {
			// no member of that name, unless one is written with escapes
			if bytes.IndexByte(line[plain:], '\\') >= 0 {
				return nil, false
			}
			plain = len(line)
			continue
		}
		j := skipJSONSpace(line, p+len(pat))
		if j >= len(line) || line[j] != ':' {
			return nil, false // a string value comes first
		}
		j = skipJSONSpace(line, j+1)
		end := j // of the value
		switch c := line[min(j, len(line)-1)]; {
		case j >= len(line):
			return nil, false
		case c == '"':
			e := bytes.IndexByte(line[j+1:], '"')
			if e < 0 {
				return nil, false
			}
			end = j + e + 2
		case c == '-' || '0' <= c && c <= '9':
			for end < len(line) && !isJSONValueEnd(line[end]) {
				end++
			}
		}
		if bound := max(end, j); bound > plain { // the key and the value are plain too
			if bytes.IndexByte(line[plain:bound], '\\') >= 0 {
				return nil, false
			}
			plain = bound
		}
		if !topLevel(line, p) {
			return nil, false // in a string (not JSON), or a nested key
		}
		if end > j {
			return line[j:end], true
		}
		// the name's first member is neither a string nor a number
	}
	return nil, true
}

var quoteByte = []byte{'"'}

// idAt is the index of the first occurrence of idPatterns[k] in line, -1
// when there is none. `"lead_id"` and `"_id"` are found by their `_id"`,
// whose underscore is rare (bytes.Index skips to it; a quote is not).
func idAt(line []byte, k int) int {
	if k == 2 {
		return bytes.Index(line, idPatterns[2])
	}
	for i := 0; ; {
		q := bytes.Index(line[i:], underscoreID)
		if q < 0 {
			return -1
		}
		q += i
		switch {
		case k == 0 && q >= 5 && string(line[q-5:q]) == `"lead`:
			return q - 5
		case k == 1 && q >= 1 && line[q-1] == '"':
			return q - 1
		}
		i = q + 1
	}
}

var underscoreID = []byte(`_id"`)

// topLevel reports whether b[p], in a line without backslashes, is
// outside strings with one object open: the braces outside strings
// before it, in order, leave one open, and an even number of quotes
// come before it and before each of them. A line whose only brace before
// p is its first byte's needs no more.
func topLevel(b []byte, p int) bool {
	first := skipJSONSpace(b, 0) // the top-level '{'
	if bytes.IndexByte(b[first+1:p], '{') < 0 {
		return bytes.Count(b[:p], quoteByte)%2 == 0
	}
	depth, quotes := 0, 0 // quotes in b[:i]
	open, shut := -1, -1  // the next '{' and '}' at or after i, or p for none
	for i := 0; ; {
		if open < i {
			open = nextOr(b, i, p, '{')
		}
		if shut < i {
			shut = nextOr(b, i, p, '}')
		}
		j := min(open, shut)
		quotes += bytes.Count(b[i:j], quoteByte)
		if j == p {
			return quotes%2 == 0 && depth == 1
		}
		if quotes%2 == 0 {
			if j == open {
				depth++
			} else {
				depth--
			}
		}
		i = j + 1
	}
}

// nextOr is the index of the first c in b[i:p], or p.
func nextOr(b []byte, i, p int, c byte) int {
	if j := bytes.IndexByte(b[i:p], c); j >= 0 {
		return i + j
	}
	return p
}

// gjsonContactID is contactID, read with gjson: one pass over line a key.
func gjsonContactID(line []byte) []byte {
	for _, k := range idKeys {
		v := gjson.GetBytes(line, k)
		if v.Type == gjson.String || v.Type == gjson.Number {
			return []byte(v.Raw)
		}
	}
	return nil
}

// scanContactID is contactID for any line: it reads the top level of
// the JSON object in line member by member, skipping the values of the
// others; ok false when line is not what it can read (a key with an
// escape; not JSON).
func scanContactID(line []byte) (id []byte, ok bool) {
	var ids [len(idKeys)][]byte // the first member of each name, if a string or a number
	var seen [len(idKeys)]bool
	i := skipJSONSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return nil, false
	}
	i = skipJSONSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return nil, true
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return nil, false
		}
		end, esc := jsonStringEnd(line, i+1)
		if end < 0 || esc {
			return nil, false // gjson unescapes keys
		}
		k := idKey(line[i+1 : end])
		if k >= 0 && seen[k] {
			k = -1 // gjson reads a name's first member
		}
		i = skipJSONSpace(line, end+1)
		if i >= len(line) || line[i] != ':' {
			return nil, false
		}
		i = skipJSONSpace(line, i+1)
		if i >= len(line) {
			return nil, false
		}
		start := i
		switch c := line[i]; {
		case c == '"':
			if i, _ = jsonStringEnd(line, i+1); i < 0 {
				return nil, false
			}
			i++
		case c == '{' || c == '[':
			if i = skipJSONNested(line, i); i < 0 {
				return nil, false
			}
			start = -1
		case c == '-' || '0' <= c && c <= '9':
			for i < len(line) && !isJSONValueEnd(line[i]) {
				i++
			}
		case c == 't' || c == 'f' || c == 'n':
			for i < len(line) && !isJSONValueEnd(line[i]) {
				i++
			}
			start = -1
		default:
			return nil, false
		}
		if k >= 0 {
			seen[k] = true
			if start >= 0 {
				ids[k] = line[start:i]
				if k == 0 {
					return ids[0], true // lead_id comes first whatever follows
				}
			}
		}
		i = skipJSONSpace(line, i)
		if i >= len(line) {
			return nil, false
		}
		switch line[i] {
		case ',':
			i = skipJSONSpace(line, i+1)
			continue
		case '}':
			for _, id := range ids {
				if id != nil {
					return id, true
				}
			}
			return nil, true
		}
		return nil, false
	}
}

// idKey is the index in idKeys of a raw key, -1 for another key.
func idKey(key []byte) int {
	switch len(key) {
	case len("lead_id"):
		if string(key) == "lead_id" {
			return 0
		}
	case len("_id"):
		if string(key) == "_id" {
			return 1
		}
	case len("id"):
		if string(key) == "id" {
			return 2
		}
	}
	return -1
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// isJSONValueEnd reports whether c ends a number or a literal.
func isJSONValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ']', '}':
		return true
	}
	return false
}

// Strings and nested values are skipped eight bytes at a time, a word
// searched for the bytes that stop the skip at once with the "has a zero
// byte" bit trick (as internal/rawjson does).
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// swarZeros flags (in each byte's top bit) the bytes of x that are zero;
// the lowest flag is exact (higher ones may be false after it).
func swarZeros(x uint64) uint64 { return (x - swarLo) &^ x & swarHi }

// jsonStringEnd is the index of the quote that closes the JSON string whose
// text starts at b[i], and whether the text has escapes; -1 when the
// string does not end.
func jsonStringEnd(b []byte, i int) (end int, esc bool) {
	for {
		for len(b)-i >= 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			if m := swarZeros(x^(swarLo*'"')) | swarZeros(x^(swarLo*'\\')); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		switch {
		case i >= len(b):
			return -1, esc
		case b[i] == '"':
			return i, esc
		}
		i, esc = i+2, true // a backslash and the byte it escapes
	}
}

// skipJSONNested is the index just past the object or array that starts at
// b[i]; -1 when it does not end.
func skipJSONNested(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		for len(b)-i >= 8 {
			// '"', and '{' '}' '[' ']' (with bit 5 set: '{' or '}')
			x := binary.LittleEndian.Uint64(b[i:])
			y := x | swarLo*0x20
			if m := swarZeros(x^(swarLo*'"')) | swarZeros(y^(swarLo*'{')) | swarZeros(y^(swarLo*'}')); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			if i, _ = jsonStringEnd(b, i+1); i < 0 {
				return -1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return -1
}
