package plan

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// Explanation is a segment's whole evaluation for one contact
// (Program.Explain, Program.ExplainJSON): every group and every condition
// with its result, nothing skipped by short-circuiting. Its String is an
// indented tree for people; it marshals to JSON with a stable shape.
type Explanation struct {
	Segment string        `json:"segment"` // the program's Key
	Matched bool          `json:"matched"` // what Match / MatchJSON answer
	Root    *ExplainGroup `json:"root"`    // the segment's filters, a group at pointer ""
}

// ExplainGroup is a group: the segment itself or a nested one, or, under
// an elem_match, the group tested on one element.
type ExplainGroup struct {
	Pointer string          `json:"pointer"` // JSON Pointer of the group in the segment document
	Match   string          `json:"match"`   // "all" or "any"
	Negate  bool            `json:"negate"`
	Result  bool            `json:"result"`  // after negate
	Filters []ExplainFilter `json:"filters"` // in document order; [] for an empty group (true)
}

// ExplainFilter is one filter of a group: a condition or a group (the
// other is nil).
type ExplainFilter struct {
	Condition *ExplainCondition `json:"condition,omitempty"`
	Group     *ExplainGroup     `json:"group,omitempty"`
}

// ExplainCondition is one condition, as written, with what the contact
// holds at its field and the result.
type ExplainCondition struct {
	Pointer  string          `json:"pointer"`         // JSON Pointer of the condition in the segment document
	Field    string          `json:"field"`           // as written ("" is the contact, or the element under elem_match)
	Operator string          `json:"operator"`        // as written (an alias stays an alias)
	Value    json.RawMessage `json:"value,omitempty"` // the filter's value, compacted; absent when the filter has none
	// ValueTruncated: the value's JSON is longer than
	// MaxExplainFilterValueBytes (Value is absent); ValuePreview holds its
	// first MaxExplainValueBytes.
	ValueTruncated bool         `json:"value_truncated,omitempty"`
	ValuePreview   string       `json:"value_preview,omitempty"`
	IgnoreCase     bool         `json:"ignore_case"`
	Negate         bool         `json:"negate"`  // the filter's negate flag (a negative operator is its own)
	Contact        FieldReading `json:"contact"` // what the field reads
	Result         bool         `json:"result"`  // after the operator and negate
	// Elements, for elem_match: the array's elements against its group.
	Elements *ExplainElements `json:"elements,omitempty"`
}

// FieldReading is what a field path reads from a contact (or, under
// elem_match, from an element).
type FieldReading struct {
	// Kind is "missing", "null", "bool", "number", "string", "array" or
	// "object".
	Kind string `json:"kind"`
	// Value is the JSON read (absent when missing, and when Truncated).
	// A fan-out path (orders.sku over an array of orders) reads the
	// values it reached, as an array (FanOut).
	Value  json.RawMessage `json:"value,omitempty"`
	FanOut bool            `json:"fan_out,omitempty"`
	// Truncated: the value's JSON is longer than MaxExplainValueBytes;
	// Preview holds its first bytes.
	Truncated bool   `json:"truncated,omitempty"`
	Preview   string `json:"preview,omitempty"`
}

// ExplainElements is an elem_match condition's array against its group:
// which elements satisfy it, and the group's evaluation on the first
// ones.
type ExplainElements struct {
	Count   int   `json:"count"`   // elements of the array (values reached, for a fan-out); 0 for a non-array
	Matched []int `json:"matched"` // indexes of the elements that satisfy the group
	// Explained is the group evaluated on each of the first
	// MaxExplainElements elements (fewer once the explanation holds
	// MaxExplainNodes nodes).
	Explained []ExplainElement `json:"explained"`
}

// ExplainElement is an elem_match group evaluated on one element.
type ExplainElement struct {
	Index  int           `json:"index"`
	Result bool          `json:"result"`
	Group  *ExplainGroup `json:"group"`
}

// Bounds on an explanation (a contact and a segment are untrusted on the
// HTTP API): a contact value is shown up to MaxExplainValueBytes of JSON
// and a filter's up to MaxExplainFilterValueBytes (a Program keeps no
// more of it), an elem_match explains its group on at most
// MaxExplainElements elements, and element trees stop once an
// explanation holds MaxExplainNodes groups and conditions (the segment's
// own are always all there).
const (
	MaxExplainValueBytes       = 2048
	MaxExplainFilterValueBytes = 64 << 10
	MaxExplainElements         = 8
	MaxExplainNodes            = 4096
)

// condInfo is a condition as written, kept by Compile (not CompileSet)
// for Explain only.
type condInfo struct {
	operator   string
	value      string // compact JSON; "" when the filter has none or it is too long
	preview    string // the start of a value beyond MaxExplainFilterValueBytes
	negate     bool   // as written (the node's negate includes a negative operator's)
	ignoreCase bool
	sub        *subGroup // elem_match: its group
}

// subGroup is an elem_match's compiled group.
type subGroup struct {
	root   *node
	fields *fieldSet
}

// condInfoSize is the estimated fixed cost of a condInfo.
const condInfoSize = 64

// condInfo records f as written (and the elem_match group subgroup just
// compiled for it), charging what it keeps to Program.Size.
func (c *compiler) condInfo(f *filter.Filter) *condInfo {
	in := &condInfo{operator: strings.Clone(f.Operator), negate: f.Negate, ignoreCase: f.IgnoreCase, sub: c.lastSub}
	c.lastSub = nil
	switch text := compactPrefix(nil, bytesString(f.Value), MaxExplainFilterValueBytes); {
	case len(text) > MaxExplainFilterValueBytes: // a segment may hold a 1 MiB value: not a second copy
		in.preview = preview(text)
	case len(text) > 0:
		if !utf8.Valid(text) {
			var x any
			if json.Unmarshal(text, &x) == nil { // repairs the strings
				text, _ = json.Marshal(x)
			}
		}
		in.value = bytesString(text) // never written again
	}
	c.size += condInfoSize + len(in.operator) + len(in.value) + len(in.preview)
	return in
}

// Explain evaluates a decoded contact like Match, reporting every group
// and condition. Its Matched is Match's answer.
func (p *Program) Explain(contact map[string]any) *Explanation {
	c := p.context()
	r := reader{mode: readGo, goRoot: contact, goMap: contact, fields: &p.fields}
	return p.explain(&r, &c)
}

// ExplainJSON evaluates a raw JSON contact like MatchJSON, reporting every
// group and condition. Its Matched is MatchJSON's answer; its error is
// MatchJSON's (ErrMalformedContact, ErrNotObject) for input that is not
// one well-formed JSON object.
func (p *Program) ExplainJSON(raw []byte) (*Explanation, error) {
	r, err := p.readRaw(raw)
	defer p.release(r.col)
	if err != nil {
		return nil, err
	}
	c := p.context()
	return p.explain(&r, &c), nil
}

func (p *Program) explain(r *reader, c *operators.Context) *Explanation {
	e := &explainer{ctx: c}
	root := e.group(p.root, e.scope(r), "")
	return &Explanation{Segment: p.Key(), Matched: root.Result, Root: root}
}

// explainer walks a program's tree for one contact. Conditions are
// decided by the reader's leaf, as MatchJSON (readRaw) and Match (readGo,
// the same goRest and general forms evalGo uses) decide them; groups
// combine every child, which is what short-circuiting computes since
// conditions are pure.
type explainer struct {
	ctx   *operators.Context
	nodes int
}

// scope is one root the fields are read from (the contact, or an
// element), each field's reading made once.
type scope struct {
	r    *reader
	read []bool
	vals []FieldReading
}

func (e *explainer) scope(r *reader) *scope {
	n := len(r.fields.paths)
	return &scope{r: r, read: make([]bool, n), vals: make([]FieldReading, n)}
}

func (e *explainer) group(n *node, s *scope, ptr string) *ExplainGroup {
	e.nodes++
	g := &ExplainGroup{Pointer: ptr, Match: string(filter.All), Negate: n.negate, Filters: make([]ExplainFilter, 0, len(n.kids))}
	if n.kind == anyNode {
		g.Match = string(filter.Any)
	}
	all, some := true, false
	for i, k := range n.kids {
		kptr := ptr + "/filters/" + strconv.Itoa(i)
		var res bool
		if k.kind == leafNode {
			ec := e.condition(k, s, kptr)
			g.Filters = append(g.Filters, ExplainFilter{Condition: ec})
			res = ec.Result
		} else {
			sub := e.group(k, s, kptr)
			g.Filters = append(g.Filters, ExplainFilter{Group: sub})
			res = sub.Result
		}
		all, some = all && res, some || res
	}
	res := all
	if n.kind == anyNode {
		res = some || len(n.kids) == 0
	}
	g.Result = res != n.negate
	return g
}

func (e *explainer) condition(n *node, s *scope, ptr string) *ExplainCondition {
	e.nodes++
	ec := &ExplainCondition{
		Pointer: ptr,
		Field:   s.r.fields.names[n.slot],
		Contact: s.reading(n.slot),
		Result:  s.r.leaf(n, e.ctx) != n.negate, // as node.decide
	}
	in := n.info
	if in == nil { // not expected: every condition of a Program has one
		return ec
	}
	ec.Operator, ec.IgnoreCase, ec.Negate = in.operator, in.ignoreCase, in.negate
	if in.value != "" {
		ec.Value = json.RawMessage(in.value)
	}
	if in.preview != "" {
		ec.ValueTruncated, ec.ValuePreview = true, in.preview
	}
	if in.sub != nil {
		ec.Elements = e.elements(in.sub, s.r.value(n.slot), ptr+"/value")
	}
	return ec
}

// elements evaluates an elem_match group on every element of v (as the
// operator does: Any over the array, fan-outs included), and explains it
// on the first ones.
func (e *explainer) elements(sub *subGroup, v operators.Value, ptr string) *ExplainElements {
	out := &ExplainElements{Matched: []int{}, Explained: []ExplainElement{}}
	if v.Kind() != operators.Array {
		return out
	}
	v.Any(func(el operators.Value) bool {
		r := reader{elem: el, mode: readElem, fields: sub.fields}
		if sub.root.eval(&r, e.ctx) {
			out.Matched = append(out.Matched, out.Count)
		}
		if len(out.Explained) < MaxExplainElements && e.nodes < MaxExplainNodes {
			g := e.group(sub.root, e.scope(&r), ptr)
			out.Explained = append(out.Explained, ExplainElement{Index: out.Count, Result: g.Result, Group: g})
		}
		out.Count++
		return false
	})
	return out
}

// reading is what the field of a slot reads, made once per scope.
func (s *scope) reading(slot int) FieldReading {
	if !s.read[slot] {
		s.vals[slot], s.read[slot] = s.r.reading(slot), true
	}
	return s.vals[slot]
}

// reading reads a slot for Explain: from raw JSON, the contact's own
// text when the value is one piece of it (numbers keep their digits).
func (r *reader) reading(slot int) FieldReading {
	if r.mode == readRaw {
		raw, found, generic := r.col.lookup(slot)
		raw = rawjson.Trim(raw)
		switch {
		case !generic && !found:
			return FieldReading{Kind: operators.Missing.String()}
		case !generic && raw != "" && utf8.ValidString(raw):
			return newReading(operators.OfRaw(raw), compactPrefix(nil, raw, MaxExplainValueBytes))
		}
	}
	v := r.value(slot)
	return newReading(v, appendValueJSON(nil, v))
}

func newReading(v operators.Value, text []byte) FieldReading {
	fr := FieldReading{Kind: v.Kind().String(), FanOut: v.FanOut()}
	switch {
	case v.Kind() == operators.Missing:
	case len(text) > MaxExplainValueBytes:
		fr.Truncated, fr.Preview = true, preview(text)
	default:
		fr.Value = text
	}
	return fr
}

// appendValueJSON appends v as JSON, stopping soon after
// MaxExplainValueBytes (the reading is then truncated anyway). Missing
// reads as null (it is only met at the top, where the kind tells).
func appendValueJSON(dst []byte, v operators.Value) []byte {
	if len(dst) > MaxExplainValueBytes {
		return dst
	}
	switch v.Kind() {
	case operators.Missing, operators.Null:
		return append(dst, "null"...)
	case operators.Bool:
		return strconv.AppendBool(dst, v.Bool())
	case operators.Number:
		return appendNumber(dst, v.Num())
	case operators.String:
		s := v.Str()
		if len(s) > MaxExplainValueBytes {
			s = s[:MaxExplainValueBytes+1]
		}
		return appendQuoted(dst, s)
	}
	if raw, ok := v.RawJSON(); ok && utf8.ValidString(raw) {
		return compactPrefix(dst, raw, MaxExplainValueBytes)
	}
	if v.Kind() == operators.Array {
		dst = append(dst, '[')
		first := true
		v.Any(func(el operators.Value) bool {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendValueJSON(dst, el)
			return len(dst) > MaxExplainValueBytes
		})
		return append(dst, ']')
	}
	b, err := json.Marshal(v.Interface()) // a decoded object (or raw one needing repair)
	if err != nil {
		return append(dst, "null"...) // a Go value JSON cannot hold (NaN, a channel)
	}
	return append(dst, b...)
}

// preview is the first MaxExplainValueBytes of a JSON text (cut between
// runes).
func preview(text []byte) string {
	cut := min(len(text), MaxExplainValueBytes)
	for cut > 0 && cut < len(text) && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(text[:cut]), "\uFFFD")
}

// compactPrefix appends raw, one valid JSON value, without its
// whitespace, stopping once more than limit bytes are written.
func compactPrefix(dst []byte, raw string, limit int) []byte {
	inString := false
	for i := 0; i < len(raw) && len(dst) <= limit; i++ {
		c := raw[i]
		switch {
		case inString:
			if c == '\\' && i+1 < len(raw) {
				dst = append(dst, c)
				i++
				c = raw[i]
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendNumber writes f as encoding/json does; beyond float64 (raw JSON
// such as 1e400 reads as ±Inf) it writes 1e999 or -1e999.
func appendNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "1e999"...)
	case math.IsInf(f, -1):
		return append(dst, "-1e999"...)
	case math.IsNaN(f):
		return append(dst, "null"...)
	}
	b, _ := json.Marshal(f)
	return append(dst, b...)
}

// appendQuoted writes s as a JSON string, without encoding/json's HTML
// escaping, invalid UTF-8 replaced with U+FFFD.
func appendQuoted(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// String is the explanation as an indented tree, one line per group and
// condition, ✓ or ✗ for its result, and beside each condition what the
// contact holds at its field (values cut at 80 bytes).
func (x *Explanation) String() string {
	var b strings.Builder
	b.WriteString("segment")
	if x.Segment != "" {
		b.WriteString(" " + x.Segment)
	}
	if x.Matched {
		b.WriteString(": match\n")
	} else {
		b.WriteString(": no match\n")
	}
	if x.Root != nil {
		writeGroup(&b, x.Root, 0, "contact")
	}
	return b.String()
}

func resultMark(ok bool) string {
	if ok {
		return "✓ "
	}
	return "✗ "
}

func writeGroup(b *strings.Builder, g *ExplainGroup, depth int, label string) {
	b.WriteString(strings.Repeat("  ", depth) + resultMark(g.Result))
	if g.Negate {
		b.WriteString("not ")
	}
	b.WriteString(g.Match)
	if g.Pointer != "" {
		b.WriteString("  " + g.Pointer)
	}
	b.WriteByte('\n')
	for _, f := range g.Filters {
		if f.Group != nil {
			writeGroup(b, f.Group, depth+1, label)
		} else if f.Condition != nil {
			writeCondition(b, f.Condition, depth+1, label)
		}
	}
}

func writeCondition(b *strings.Builder, c *ExplainCondition, depth int, label string) {
	b.WriteString(strings.Repeat("  ", depth) + resultMark(c.Result))
	if c.Negate {
		b.WriteString("not ")
	}
	if c.Field == "" {
		b.WriteString(`""`)
	} else {
		b.WriteString(c.Field)
	}
	b.WriteString(" " + c.Operator)
	switch {
	case c.Elements != nil && len(c.Elements.Explained) > 0:
		b.WriteString(" {…}") // the group, shown per element below
	case len(c.Value) > 0:
		b.WriteString(" " + clip(string(c.Value)))
	case c.ValueTruncated:
		b.WriteString(" " + clip(c.ValuePreview+"…"))
	}
	if c.IgnoreCase {
		b.WriteString(" (ignore_case)")
	}
	b.WriteString("  (" + label + ": ")
	switch r := c.Contact; {
	case r.Kind == operators.Missing.String():
		b.WriteString("missing")
	case r.Truncated:
		b.WriteString(clip(r.Preview + "…"))
	default:
		b.WriteString(clip(string(r.Value)))
	}
	if c.Contact.FanOut {
		b.WriteString(", fan-out")
	}
	b.WriteString(")  " + c.Pointer)
	if el := c.Elements; el != nil {
		b.WriteString("  matched elements: " + intsText(el.Matched) + " of " + strconv.Itoa(el.Count))
	}
	b.WriteByte('\n')
	if c.Elements == nil {
		return
	}
	for _, el := range c.Elements.Explained {
		b.WriteString(strings.Repeat("  ", depth+1) + resultMark(el.Result) + "element " + strconv.Itoa(el.Index) + "\n")
		writeGroup(b, el.Group, depth+2, "element")
	}
	if n := c.Elements.Count - len(c.Elements.Explained); n > 0 {
		b.WriteString(strings.Repeat("  ", depth+1) + "… " + strconv.Itoa(n) + " more elements not explained\n")
	}
}

func intsText(xs []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x))
	}
	b.WriteByte(']')
	return b.String()
}

// clip cuts s to 80 bytes (at a rune boundary), marking the cut.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
