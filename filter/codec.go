package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/segmatch/segmatch/internal/rawjson"

	"github.com/tidwall/gjson"
)

// TimeLayout is how timestamps are written (Tiledesk's ISO strings).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the wire format: both "_id" and "id", then the
// Tiledesk keys. Timestamps are omitted when zero.
func (s Segment) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if s.ID != "" {
		writeKV(&b, "_id", s.ID)
		writeKV(&b, "id", s.ID)
	}
	writeKV(&b, "name", s.Name)
	m := s.Match
	if m == "" {
		m = All
	}
	writeKV(&b, "match", string(m))
	if err := writeFilters(&b, s.Filters); err != nil {
		return nil, err
	}
	if s.IDProject != "" {
		writeKV(&b, "id_project", s.IDProject)
	}
	if s.CreatedBy != "" {
		writeKV(&b, "createdBy", s.CreatedBy)
	}
	if !s.CreatedAt.IsZero() {
		writeKV(&b, "createdAt", formatTime(s.CreatedAt))
	}
	if !s.UpdatedAt.IsZero() {
		writeKV(&b, "updatedAt", formatTime(s.UpdatedAt))
	}
	writeKey(&b, "status")
	b.WriteString(strconv.Itoa(s.Status))
	b.WriteByte('}')
	return b.Bytes(), nil
}

// formatTime writes t in UTC with milliseconds (TimeLayout), or with
// every fractional digit it has when that is finer, so that decoding
// gives t back.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		return t.Format(time.RFC3339Nano)
	}
	return t.Format(TimeLayout)
}

// MarshalJSON writes a condition or a group.
func (f Filter) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := writeFilter(&b, &f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeFilter(b *bytes.Buffer, f *Filter) error {
	b.WriteByte('{')
	if f.IsGroup() {
		m := f.Match
		if m == "" {
			m = All
		}
		writeKV(b, "match", string(m))
		if err := writeFilters(b, f.Filters); err != nil {
			return err
		}
	} else {
		writeKV(b, "field", f.Field)
		writeKV(b, "operator", f.Operator)
		if len(f.Value) > 0 {
			writeKey(b, "value")
			if err := json.Compact(b, f.Value); err != nil {
				return fmt.Errorf("filter value: %w", err)
			}
		}
		if f.IgnoreCase {
			writeKey(b, "ignore_case")
			b.WriteString("true")
		}
	}
	if f.Negate {
		writeKey(b, "negate")
		b.WriteString("true")
	}
	b.WriteByte('}')
	return nil
}

func writeFilters(b *bytes.Buffer, fs []Filter) error {
	writeKey(b, "filters")
	b.WriteByte('[')
	for i := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeFilter(b, &fs[i]); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func writeKey(b *bytes.Buffer, k string) {
	if b.Len() > 1 {
		last := b.Bytes()[b.Len()-1]
		if last != '{' && last != '[' {
			b.WriteByte(',')
		}
	}
	b.WriteByte('"')
	b.WriteString(k)
	b.WriteString(`":`)
}

func writeKV(b *bytes.Buffer, k, v string) {
	writeKey(b, k)
	writeString(b, v)
}

// SegmentKeys are the keys a segment document may carry at its top level:
// the model's, and what a document exported from Tiledesk carries. Any
// other key is an error (ErrUnknownKey): a typo such as "filter" must not
// leave a segment without its filters, matching everyone.
var SegmentKeys = []string{"_id", "id", "name", "match", "filters", "id_project", "createdBy", "createdAt", "updatedAt", "status", "__v"}

// filterKeys are the keys of a condition, then those only a group has.
var filterKeys = []string{"field", "operator", "value", "negate", "ignore_case", "match", "filters"}

// UnmarshalJSON reads the wire format strictly (see the package doc).
// Every problem found is returned at once (errors.Join of *Error).
func (s *Segment) UnmarshalJSON(data []byte) error {
	seg, err := DecodeSegment(data)
	if err != nil {
		return err
	}
	*s = seg
	return nil
}

// UnmarshalJSON reads one filter (condition or group) strictly.
func (f *Filter) UnmarshalJSON(data []byte) error {
	root, perr := parseDoc(data)
	if perr != nil {
		return perr
	}
	d := &decoder{}
	out := d.filter(root, "", 1)
	if err := d.err(); err != nil {
		return err
	}
	*f = out
	return nil
}

// DecodeSegment decodes one segment document.
func DecodeSegment(data []byte) (Segment, error) {
	if e := checkSize(len(data)); e != nil {
		return Segment{}, e
	}
	root, perr := parseDoc(data)
	if perr != nil {
		return Segment{}, perr
	}
	d := &decoder{}
	seg := d.segment(root)
	return seg, d.err()
}

// DecodeGroup decodes a group document ({match, filters}) such as the value
// of elem_match; base is the JSON Pointer of data in its enclosing
// document, depth the nesting depth data sits at.
func DecodeGroup(data []byte, base string, depth int) (Filter, error) {
	root, perr := parseDoc(data)
	if perr != nil {
		perr.Path = base
		return Filter{}, perr
	}
	d := &decoder{}
	if !root.IsObject() {
		d.add(base, ErrBadShape, "want a group object {match, filters}")
		return Filter{}, d.err()
	}
	if !root.Get("filters").Exists() || root.Get("operator").Exists() {
		d.add(base, ErrBadShape, "want a group object {match, filters}")
		return Filter{}, d.err()
	}
	f := d.filter(root, base, depth)
	return f, d.err()
}

// parseDoc checks well-formedness (encoding/json's grammar, its nesting
// limit: rawjson.Validate accepts exactly what json.Valid does, in a
// quarter of the time) and locates a syntax error by line and column.
func parseDoc(data []byte) (gjson.Result, *Error) {
	if rawjson.Validate(data) != nil {
		var v any
		err := json.Unmarshal(data, &v)
		msg := "invalid JSON"
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			msg = fmt.Sprintf("line %d, column %d: %v", line, col, se)
		} else if err != nil {
			msg = err.Error()
		}
		return gjson.Result{}, Errorf("", ErrSyntax, msg)
	}
	return gjson.ParseBytes(data), nil
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

type decoder struct{ errs []error }

func (d *decoder) add(path string, sentinel error, detail string) {
	d.errs = append(d.errs, Errorf(path, sentinel, detail))
}

// at is the JSON Pointer of a member, base + "/" + key escaped, built
// only when an error needs it (most members have none).
type at struct{ base, key string }

func (a at) String() string { return Pointer(a.base, a.key) }

func (d *decoder) addAt(p at, sentinel error, detail string) { d.add(p.String(), sentinel, detail) }

func (d *decoder) err() error { return errors.Join(d.errs...) }

// members lists an object's members in order, reporting duplicates.
type member struct {
	key string
	val gjson.Result
}

func (d *decoder) members(obj gjson.Result, path string) []member {
	ms := make([]member, 0, 8) // a condition has 3 to 5
	var seen map[string]bool   // past smallObject members: a scan is quicker below
	obj.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		if !utf8.ValidString(key) {
			d.add(path, ErrBadShape, "key is not valid UTF-8")
			return true
		}
		if dup(ms, key, &seen) {
			d.add(Pointer(path, key), ErrDuplicateKey, "")
			return true
		}
		ms = append(ms, member{key, v})
		return true
	})
	return ms
}

// smallObject is the member count up to which dup scans the members.
const smallObject = 16

// dup reports whether key is among ms; past smallObject members it keeps
// (and fills) the set *seen.
func dup(ms []member, key string, seen *map[string]bool) bool {
	if len(ms) < smallObject {
		for i := range ms {
			if ms[i].key == key {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]bool, 2*len(ms))
		for _, m := range ms {
			(*seen)[m.key] = true
		}
	}
	if (*seen)[key] {
		return true
	}
	(*seen)[key] = true
	return false
}

func (d *decoder) segment(root gjson.Result) Segment {
	var s Segment
	if !root.IsObject() {
		d.add("", ErrBadShape, "a segment is a JSON object")
		return s
	}
	var id, uid string
	var hasID, hasUID bool
	for _, m := range d.members(root, "") {
		p := at{"", m.key}
		switch m.key {
		case "_id":
			uid, hasUID = d.idString(m.val, p), true
		case "id":
			id, hasID = d.idString(m.val, p), true
		case "name":
			s.Name = d.str(m.val, p)
		case "match":
			s.Match = d.match(m.val, p)
		case "filters":
			s.Filters = d.filters(m.val, p, 1)
		case "id_project":
			s.IDProject = d.idString(m.val, p)
		case "createdBy":
			s.CreatedBy = d.idString(m.val, p)
		case "createdAt":
			s.CreatedAt = d.time(m.val, p)
		case "updatedAt":
			s.UpdatedAt = d.time(m.val, p)
		case "status":
			if m.val.Type != gjson.Number || m.val.Num != math.Trunc(m.val.Num) || math.Abs(m.val.Num) > 1e9 {
				d.addAt(p, ErrBadShape, "status is an integer")
			} else {
				s.Status = int(m.val.Num)
			}
		case "__v":
			// Mongoose's version key, in every document Tiledesk exports.
		default:
			d.errs = append(d.errs, Unknown(p.String(), ErrUnknownKey, m.key, SegmentKeys))
		}
	}
	switch {
	case hasUID && hasID && uid != id:
		d.add("/id", ErrBadShape, fmt.Sprintf("%q differs from _id %q", id, uid))
	case hasUID:
		s.ID = uid
	default:
		s.ID = id
	}
	return s
}

func (d *decoder) str(v gjson.Result, path at) string {
	if v.Type != gjson.String {
		d.addAt(path, ErrBadShape, "want a string")
		return ""
	}
	if !utf8.ValidString(v.Str) {
		d.addAt(path, ErrBadShape, "string is not valid UTF-8")
		return ""
	}
	return v.Str
}

// idString accepts a string, or null as empty (exports may carry null).
func (d *decoder) idString(v gjson.Result, path at) string {
	if v.Type == gjson.Null {
		return ""
	}
	return d.str(v, path)
}

func (d *decoder) time(v gjson.Result, path at) time.Time {
	if v.Type == gjson.Null {
		return time.Time{}
	}
	s := d.str(v, path)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.addAt(path, ErrBadShape, "want an RFC 3339 timestamp")
		return time.Time{}
	}
	// In UTC (as it is written back) the year must still have 4 digits.
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		d.addAt(path, ErrBadShape, "timestamp out of range (years 0000 to 9999 in UTC)")
		return time.Time{}
	}
	return t
}

func (d *decoder) match(v gjson.Result, path at) Match {
	if v.Type != gjson.String {
		d.addAt(path, ErrBadMatch, `want "all" or "any"`)
		return All
	}
	switch Match(v.Str) {
	case All, Any:
		return Match(v.Str)
	}
	d.addAt(path, ErrBadMatch, fmt.Sprintf(`%q: want "all" or "any"`, v.Str))
	return All
}

func (d *decoder) filters(v gjson.Result, path at, depth int) []Filter {
	if !v.IsArray() {
		d.addAt(path, ErrBadShape, "filters is an array")
		return nil
	}
	if depth > MaxDepth {
		d.addAt(path, ErrTooDeep, fmt.Sprintf("at most %d levels", MaxDepth))
		return nil
	}
	out := []Filter{}
	i, base := 0, path.String()
	v.ForEach(func(_, f gjson.Result) bool {
		out = append(out, d.filter(f, Pointer(base, strconv.Itoa(i)), depth))
		i++
		return true
	})
	return out
}

// filter decodes one condition or group sitting at the given depth.
func (d *decoder) filter(v gjson.Result, path string, depth int) Filter {
	var f Filter
	if !v.IsObject() {
		d.add(path, ErrBadShape, "a filter is an object")
		return f
	}
	ms := d.members(v, path)
	isGroup, hasOperator := false, false
	for _, m := range ms {
		switch m.key {
		case "filters":
			isGroup = true
		case "operator":
			hasOperator = true
		}
	}
	for _, m := range ms {
		p := at{path, m.key}
		switch {
		case m.key == "negate":
			f.Negate = d.boolean(m.val, p)
		case isGroup && m.key == "match":
			f.Match = d.match(m.val, p)
		case isGroup && m.key == "filters":
			f.Filters = d.filters(m.val, p, depth+1)
		case !isGroup && m.key == "field":
			f.Field = d.str(m.val, p)
		case !isGroup && m.key == "operator":
			f.Operator = d.str(m.val, p)
			if m.val.Type == gjson.String && m.val.Str == "" {
				d.addAt(p, ErrUnknownOperator, "empty operator")
			}
		case !isGroup && m.key == "value":
			d.checkValue(m.val, p)
			f.Value = json.RawMessage(m.val.Raw)
		case !isGroup && m.key == "ignore_case":
			f.IgnoreCase = d.boolean(m.val, p)
		case isGroup && (m.key == "field" || m.key == "operator" || m.key == "value" || m.key == "ignore_case"):
			d.addAt(p, ErrUnknownKey, fmt.Sprintf("%q does not belong in a group (it has filters)", m.key))
		case !isGroup && m.key == "match":
			d.addAt(p, ErrUnknownKey, `"match" belongs to a group, which needs "filters"`)
		default:
			d.errs = append(d.errs, Unknown(p.String(), ErrUnknownKey, m.key, filterKeys))
		}
	}
	if !isGroup {
		if !hasOperator {
			d.add(path, ErrBadShape, `a condition needs "operator" (or a group needs "filters")`)
		}
		f.Value = cloneRaw(f.Value)
	}
	return f
}

func cloneRaw(r json.RawMessage) json.RawMessage {
	if r == nil {
		return nil
	}
	return append(json.RawMessage(nil), r...)
}

func (d *decoder) boolean(v gjson.Result, path at) bool {
	if v.Type != gjson.True && v.Type != gjson.False {
		d.addAt(path, ErrBadShape, "want true or false")
		return false
	}
	return v.Type == gjson.True
}

// checkValue rejects what a value must never carry: duplicate keys,
// invalid UTF-8, numbers outside float64.
func (d *decoder) checkValue(v gjson.Result, path at) {
	switch {
	case v.Type == gjson.String:
		if !utf8.ValidString(v.Str) {
			d.addAt(path, ErrBadValue, "string is not valid UTF-8")
		}
	case v.Type == gjson.Number:
		f, err := strconv.ParseFloat(v.Raw, 64)
		if err != nil || math.IsInf(f, 0) {
			d.addAt(path, ErrBadValue, fmt.Sprintf("number %s is out of range", v.Raw))
		}
	case v.IsArray():
		i, base := 0, path.String()
		v.ForEach(func(_, e gjson.Result) bool {
			d.checkValue(e, at{base, strconv.Itoa(i)})
			i++
			return true
		})
	case v.IsObject():
		base := path.String()
		for _, m := range d.members(v, base) {
			d.checkValue(m.val, at{base, m.key})
		}
	}
}

// writeString writes a JSON string without encoding/json's HTML escaping
// (operators such as ">=" stay readable).
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}
