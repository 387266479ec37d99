// Package benchmarks is the benchmark harness of issues 4 and 7: a
// seeded workload generator (segments and ~1 KB Tiledesk-like contacts
// drawn from one pool of fields and values), five backends that answer
// "which segments is this contact in?" side by side, a measuring loop,
// the Go benchmarks (go test -bench . ./benchmarks) and the report that
// `segmatch bench` prints or writes.
//
// The backends:
//
//	engine        engine.Engine.ClassifyJSONInto (one pass per contact)
//	programs      one segmatch.Program per segment, MatchJSON
//	gjson         gjson.GetBytes per condition per segment, plain comparisons
//	decode+match  encoding/json into a map, then Program.Match per segment
//	expr          encoding/json into a map, then one expr-lang program per
//	              segment run on a reused vm.VM
//
// and, beside them, two validate-only floors that classify nothing: what
// checking the contact alone costs, which no exact backend goes under.
//
//	json.Valid     encoding/json.Valid
//	rawjson.Valid  the engine's own validator, without collecting members
//
// The reports give the engine's time over the fastest floor's. The
// separate module benchmarks/peers adds floors that need dependencies the
// library does not take (bytedance/sonic's SIMD validator).
//
// # The operators of the workload
//
// So that all five express every segment simply, generated segments use
// only: eq, ne, in (strings), gt, gte, lt, lte (numbers), contains (a
// substring of a string field, or an element of the tags array),
// starts_with, ends_with, is_set, and eq on booleans; match all or any,
// no nesting, no negate or ignore_case. Contact fields have one type each
// (a number field holds JSON numbers, never numeric strings) or are
// missing or null; the only array is tags. Under these restrictions the
// gjson and expr translations are exact, and TestBackendsAgree checks it.
// Segments read from a file may use more: the engine and the programs
// take every operator, while the gjson and expr translations report what
// they cannot express and are skipped.
package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/segmatch/segmatch/filter"
)

// Config describes a generated workload. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	Segments     int     // segments to generate (default 200)
	Contacts     int     // distinct contacts (default 1000; measurements cycle over them)
	Fields       int     // size of the field pool segments draw from, 1..20 (default 16)
	Overlap      float64 // chance a condition's value is one contacts hold, 0..1 (default 0.9)
	ContactBytes int     // target size of one contact in bytes (default 1024)
	Seed         uint64  // default 1
	MinConds     int     // conditions per segment, at least (default 3)
	MaxConds     int     // and at most (default 5)
}

// DefaultConfig is issue 4's workload: 200 segments of 3 to 5 conditions,
// a pool of 16 fields, ~1 KB contacts.
var DefaultConfig = Config{Segments: 200, Contacts: 1000, Fields: 16, Overlap: 0.9, ContactBytes: 1024, Seed: 1, MinConds: 3, MaxConds: 5}

// MaxFields is the size of the whole field pool.
const MaxFields = 20

func (c Config) withDefaults() Config {
	d := DefaultConfig
	if c.Segments <= 0 {
		c.Segments = d.Segments
	}
	if c.Contacts <= 0 {
		c.Contacts = d.Contacts
	}
	if c.Fields <= 0 {
		c.Fields = d.Fields
	}
	c.Fields = min(c.Fields, MaxFields)
	if c.Overlap <= 0 {
		c.Overlap = d.Overlap
	}
	c.Overlap = min(c.Overlap, 1)
	if c.ContactBytes <= 0 {
		c.ContactBytes = d.ContactBytes
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.MinConds <= 0 {
		c.MinConds = d.MinConds
	}
	if c.MaxConds < c.MinConds {
		c.MaxConds = max(c.MinConds, d.MaxConds)
	}
	return c
}

// Workload is a generated (or loaded) set of segments and contacts.
type Workload struct {
	Config   Config
	Segments []filter.Segment
	Raw      [][]byte         // the contacts as JSON objects (one line each)
	Maps     []map[string]any // the same, decoded by encoding/json
}

// AvgBytes is the mean size of a raw contact.
func (w *Workload) AvgBytes() int {
	if len(w.Raw) == 0 {
		return 0
	}
	n := 0
	for _, r := range w.Raw {
		n += len(r)
	}
	return n / len(w.Raw)
}

// Generate makes a workload from cfg. The same Config (seed included)
// always gives the same workload; the contacts do not depend on the
// number of segments, and the first n segments of a larger workload are
// the segments of a smaller one, so a sweep over segment counts compares
// like with like.
func Generate(cfg Config) (*Workload, error) {
	cfg = cfg.withDefaults()
	w := &Workload{Config: cfg}
	w.Segments = GenerateSegments(cfg)
	cg := NewContactGen(cfg)
	for range cfg.Contacts {
		raw := cg.Next(nil)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("benchmarks: generated contact does not decode: %w\n%s", err, raw)
		}
		w.Raw = append(w.Raw, raw)
		w.Maps = append(w.Maps, m)
	}
	return w, nil
}

// FromData makes a workload of given segments and raw contacts (each one
// JSON object), decoding the contacts.
func FromData(segs []filter.Segment, raws [][]byte) (*Workload, error) {
	w := &Workload{Segments: segs, Raw: raws}
	for i, raw := range raws {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("contact %d: %w", i+1, err)
		}
		w.Maps = append(w.Maps, m)
	}
	w.Config = Config{Segments: len(segs), Contacts: len(raws), ContactBytes: w.AvgBytes()}
	return w, nil
}

// ---- the field pool ----

type kind uint8

const (
	kEnum kind = iota // a string from a small set
	kNum              // a number in a range
	kTags             // an array of strings from a small set
	kBool
	kText // a free string (email, id): contains / starts_with / ends_with
)

// spec is one field of the pool: where it lives in a contact, what it
// holds, and the conditions segments put on it.
type spec struct {
	path    string
	kind    kind
	values  []string  // kEnum, kTags: the values contacts hold
	lo, hi  int       // kNum: integer range (cents when dec)
	dec     bool      // kNum: two decimals
	cuts    []float64 // kNum: thresholds segments use
	missing int       // percent of contacts without the field
	null    int       // percent with null
}

var (
	countries = []string{"IT", "DE", "FR", "ES", "US", "GB", "NL", "BR", "JP", "IN", "CA", "AU"}
	cities    = []string{"Milano", "Roma", "Berlin", "München", "Paris", "Lyon", "Madrid", "New York", "London", "Amsterdam", "São Paulo", "Tokyo"}
	tagPool   = []string{"vip", "lead", "newsletter", "trial", "churn-risk", "customer", "partner", "beta", "support", "webinar", "trade-fair-2026", "reseller"}
	firsts    = []string{"giulia", "marco", "anna", "lukas", "marie", "pierre", "lucia", "david", "emma", "hiroshi", "priya", "liam"}
	lasts     = []string{"bianchi", "rossi", "schmidt", "fischer", "martin", "garcia", "smith", "jones", "devries", "silva", "tanaka", "patel"}
	domains   = []string{"gmail.com", "yahoo.com", "example.it", "hooli.com", "acme.de", "initech.fr", "globex.com", "outlook.com"}
	prefixes  = []string{"web-", "support-", "fair-", "import-", "api-"}
	words     = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua met at the trade fair interested in premium plan asked for a demo")
)

// pool is every field, in the order a Fields-sized pool takes them (kinds
// mixed, so a 12-field pool still has every kind).
var pool = []spec{
	{path: "country", kind: kEnum, values: countries, missing: 5, null: 2},
	{path: "attributes.age", kind: kNum, lo: 18, hi: 80, cuts: []float64{18, 21, 25, 30, 35, 40, 50, 60, 65}, missing: 10, null: 5},
	{path: "tags", kind: kTags, values: tagPool, missing: 5},
	{path: "email", kind: kText, missing: 4, null: 2},
	{path: "attributes.newsletter", kind: kBool, missing: 8, null: 2},
	{path: "properties.plan.tier", kind: kEnum, values: []string{"free", "basic", "pro", "gold", "enterprise"}, missing: 10, null: 3},
	{path: "attributes.score", kind: kNum, lo: 0, hi: 100, cuts: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}, missing: 6, null: 3},
	{path: "city", kind: kEnum, values: cities, missing: 8, null: 2},
	{path: "attributes.orders_count", kind: kNum, lo: 0, hi: 20, cuts: []float64{0, 1, 2, 3, 5, 10}, missing: 5},
	{path: "attributes.source", kind: kEnum, values: []string{"web", "fair", "newsletter", "ads", "referral", "partner"}, missing: 8, null: 3},
	{path: "lead_id", kind: kText, missing: 2},
	{path: "attributes.lifetime_value", kind: kNum, lo: 0, hi: 500000, dec: true, cuts: []float64{0, 100, 250, 500, 1000, 2500}, missing: 10, null: 5},
	{path: "attributes.preferences.language", kind: kEnum, values: []string{"it", "de", "fr", "es", "en", "pt", "ja"}, missing: 10, null: 2},
	{path: "properties.platform", kind: kEnum, values: []string{"web", "ios", "android", "desktop"}, missing: 8},
	{path: "properties.plan.seats", kind: kNum, lo: 1, hi: 50, cuts: []float64{1, 5, 10, 20, 40}, missing: 12, null: 3},
	{path: "attributes.gdpr_consent", kind: kBool, missing: 5, null: 5},
	{path: "company", kind: kEnum, values: []string{"Hooli", "Acme", "Initech", "Globex", "Umbrella", "Stark", "Wayne", "Bianchi & Figli"}, missing: 15, null: 5},
	{path: "attributes.preferences.channel", kind: kEnum, values: []string{"email", "sms", "push", "whatsapp"}, missing: 10, null: 2},
	{path: "properties.app_version", kind: kEnum, values: []string{"1.4.2", "2.0.0", "2.4.1", "3.0.0-rc.1", "3.1.0"}, missing: 10, null: 2},
	{path: "status", kind: kNum, lo: 1, hi: 3, cuts: []float64{100, 200, 300}},
}

// ---- segments ----

// GenerateSegments makes cfg.Segments segments. The n-th segment does not
// depend on cfg.Segments.
func GenerateSegments(cfg Config) []filter.Segment {
	cfg = cfg.withDefaults()
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5e6))
	fields := pool[:cfg.Fields]
	segs := make([]filter.Segment, 0, cfg.Segments)
	for i := range cfg.Segments {
		n := cfg.MinConds + r.IntN(cfg.MaxConds-cfg.MinConds+1)
		n = min(n, len(fields))
		match := filter.All
		if r.IntN(4) == 0 {
			match = filter.Any
		}
		seg := filter.Segment{ID: fmt.Sprintf("seg-%04d", i), Name: fmt.Sprintf("segment %d", i), Match: match}
		for _, fi := range r.Perm(len(fields))[:n] {
			seg.Filters = append(seg.Filters, condition(r, &fields[fi], cfg.Overlap))
		}
		segs = append(segs, seg)
	}
	return segs
}

func pickS(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

// value returns one of the field's values, or (1-overlap of the time) one
// no contact holds.
func value(r *rand.Rand, xs []string, overlap float64) string {
	if r.Float64() < overlap {
		return pickS(r, xs)
	}
	return "zz-" + pickS(r, xs)
}

func condition(r *rand.Rand, s *spec, overlap float64) filter.Filter {
	if r.IntN(12) == 0 {
		return filter.CondNoValue(s.path, "is_set")
	}
	switch s.kind {
	case kEnum:
		switch r.IntN(6) {
		case 0, 1:
			return filter.Cond(s.path, "eq", value(r, s.values, overlap))
		case 2:
			return filter.Cond(s.path, "ne", value(r, s.values, overlap))
		case 3, 4:
			k := 2 + r.IntN(4)
			list := make([]string, k)
			for j := range list {
				list[j] = value(r, s.values, overlap)
			}
			return filter.Cond(s.path, "in", list)
		default:
			v := value(r, s.values, overlap)
			return filter.Cond(s.path, "starts_with", v[:1+r.IntN(len(v))])
		}
	case kNum:
		ops := []string{"gt", "gte", "lt", "lte"}
		if s.path == "status" {
			return filter.Cond(s.path, "eq", s.cuts[r.IntN(len(s.cuts))])
		}
		cut := s.cuts[r.IntN(len(s.cuts))]
		if r.Float64() >= overlap { // a threshold beyond every contact
			cut = float64(s.hi)*2 + 1
			if s.dec {
				cut = float64(s.hi)/50 + 1
			}
		}
		return filter.Cond(s.path, ops[r.IntN(len(ops))], cut)
	case kTags:
		return filter.Cond(s.path, "contains", value(r, s.values, overlap))
	case kBool:
		return filter.Cond(s.path, "eq", r.IntN(2) == 0)
	}
	// kText
	if s.path == "lead_id" {
		return filter.Cond(s.path, "starts_with", value(r, prefixes, overlap))
	}
	switch r.IntN(3) {
	case 0:
		return filter.Cond(s.path, "contains", "@"+value(r, domains, overlap))
	case 1:
		return filter.Cond(s.path, "starts_with", value(r, firsts, overlap)+".")
	}
	tld := value(r, []string{".com", ".it", ".de", ".fr"}, overlap)
	return filter.Cond(s.path, "ends_with", tld)
}

// ---- contacts ----

// ContactGen writes contacts one after another (deterministic from the
// seed); the first n are Generate's n contacts.
type ContactGen struct {
	cfg   Config
	r     *rand.Rand
	n     int
	first string
	last  string
	vals  [MaxFields][]byte // the JSON of each pool field (nil: missing)
}

// NewContactGen starts cfg's contact sequence.
func NewContactGen(cfg Config) *ContactGen {
	cfg = cfg.withDefaults()
	return &ContactGen{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0xc0ffee))}
}

// tree is the nesting of the pool's paths, built once: a contact is
// written by walking it.
type tree struct {
	key   string
	field int // index in pool, or -1 for an object
	kids  []*tree
}

var layout = sync.OnceValue(func() *tree {
	root := &tree{field: -1}
	for i, s := range pool {
		t := root
		steps := strings.Split(s.path, ".")
		for j, k := range steps {
			var next *tree
			for _, c := range t.kids {
				if c.key == k {
					next = c
				}
			}
			if next == nil {
				next = &tree{key: k, field: -1}
				if j == len(steps)-1 {
					next.field = i
				}
				t.kids = append(t.kids, next)
			}
			t = next
		}
	}
	return root
})

func (g *ContactGen) pct(p int) bool { return g.r.IntN(100) < p }

// Next appends the next contact (one JSON object, no newline) to dst.
func (g *ContactGen) Next(dst []byte) []byte {
	g.n++
	r := g.r
	g.first, g.last = pickS(r, firsts), pickS(r, lasts)
	for i := range pool {
		s := &pool[i]
		b := g.vals[i][:0]
		switch {
		case g.pct(s.missing):
			g.vals[i] = nil
			continue
		case g.pct(s.null):
			b = append(b, "null"...)
		default:
			b = g.fieldValue(b, s)
		}
		g.vals[i] = b
	}
	start := len(dst)
	dst = append(dst, `{"_id":"`...)
	for range 24 {
		dst = append(dst, "0123456789abcdef"[r.IntN(16)])
	}
	dst = append(dst, `","fullname":"`...)
	dst = append(dst, strings.ToUpper(g.first[:1])+g.first[1:]+" "+strings.ToUpper(g.last[:1])+g.last[1:]...)
	dst = append(dst, `","phone":"+39 3`...)
	dst = strconv.AppendInt(dst, 10000000+int64(r.IntN(89999999)), 10)
	dst = append(dst, `","createdAt":"2026-`...)
	dst = append(dst, fmt.Sprintf("%02d-%02dT%02d:%02d:%02d.000Z", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))...)
	dst = append(dst, '"')
	dst = g.writeKids(dst, layout(), false)
	// orders: realistic bulk the segments never read
	dst = append(dst, `,"orders":[`...)
	for j := range r.IntN(4) {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"sku":"RT-`...)
		dst = append(dst, strings.ToUpper(pickS(r, tagPool))...)
		dst = append(dst, `","qty":`...)
		dst = strconv.AppendInt(dst, 1+int64(r.IntN(5)), 10)
		dst = append(dst, `,"price":`...)
		dst = strconv.AppendFloat(dst, float64(r.IntN(30000))/100, 'f', 2, 64)
		dst = append(dst, `,"date":"2026-10-0`...)
		dst = strconv.AppendInt(dst, 1+int64(r.IntN(9)), 10)
		dst = append(dst, `"}`...)
	}
	dst = append(dst, `],"notes":"`...)
	// pad with notes to the target size
	for len(dst)-start+2 < g.cfg.ContactBytes {
		w := pickS(r, words)
		if len(dst)-start+len(w)+3 > g.cfg.ContactBytes {
			break
		}
		dst = append(dst, w...)
		dst = append(dst, ' ')
	}
	dst = append(dst, `"}`...)
	return dst
}

// writeKids writes t's children as members (a leading comma unless first).
func (g *ContactGen) writeKids(dst []byte, t *tree, first bool) []byte {
	for _, c := range t.kids {
		if c.field >= 0 && g.vals[c.field] == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, c.key...)
		dst = append(dst, `":`...)
		if c.field >= 0 {
			dst = append(dst, g.vals[c.field]...)
			continue
		}
		dst = append(dst, '{')
		dst = g.writeKids(dst, c, true)
		dst = append(dst, '}')
	}
	return dst
}

func (g *ContactGen) fieldValue(b []byte, s *spec) []byte {
	r := g.r
	switch s.kind {
	case kEnum:
		return strconv.AppendQuote(b, pickS(r, s.values))
	case kNum:
		if s.path == "status" {
			return strconv.AppendInt(b, 100*int64(s.lo+r.IntN(s.hi-s.lo+1)), 10)
		}
		v := s.lo + r.IntN(s.hi-s.lo+1)
		if s.dec {
			return strconv.AppendFloat(b, float64(v)/100, 'f', -1, 64)
		}
		return strconv.AppendInt(b, int64(v), 10)
	case kTags:
		b = append(b, '[')
		for j, k := range r.Perm(len(s.values))[:r.IntN(5)] {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, s.values[k])
		}
		return append(b, ']')
	case kBool:
		return strconv.AppendBool(b, r.IntN(2) == 0)
	}
	if s.path == "lead_id" {
		b = append(b, '"')
		b = append(b, pickS(r, prefixes)...)
		for range 16 {
			b = append(b, "0123456789abcdef"[r.IntN(16)])
		}
		return append(b, '"')
	}
	b = append(b, '"')
	b = append(b, g.first...)
	b = append(b, '.')
	b = append(b, g.last...)
	if r.IntN(3) == 0 {
		b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
	}
	b = append(b, '@')
	b = append(b, pickS(r, domains)...)
	return append(b, '"')
}

// ContactReader is an io.Reader of n generated contacts as JSON Lines,
// written as they are read: memory stays constant whatever n.
type ContactReader struct {
	g    *ContactGen
	left int
	buf  []byte
	off  int
}

// NewContactReader reads n contacts of cfg's sequence.
func NewContactReader(cfg Config, n int) *ContactReader {
	return &ContactReader{g: NewContactGen(cfg), left: n}
}

func (cr *ContactReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if cr.off == len(cr.buf) {
			if cr.left == 0 {
				break
			}
			cr.left--
			cr.buf = append(cr.g.Next(cr.buf[:0]), '\n')
			cr.off = 0
		}
		k := copy(p[n:], cr.buf[cr.off:])
		cr.off += k
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// CycleReader is an io.Reader of n JSON Lines taken in turn from raws:
// cheap to produce, so a stream measurement times the engine, not the
// generator.
type CycleReader struct {
	raws      [][]byte
	left, i   int
	cur       []byte
	off       int
	inNewline bool
}

// NewCycleReader reads n lines cycling over raws.
func NewCycleReader(raws [][]byte, n int) *CycleReader {
	return &CycleReader{raws: slices.Clip(raws), left: n}
}

func (c *CycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.off == len(c.cur) {
			if c.inNewline {
				p[n] = '\n'
				n++
				c.inNewline = false
				continue
			}
			if c.left == 0 {
				break
			}
			c.left--
			c.cur, c.off = c.raws[c.i%len(c.raws)], 0
			c.i++
			c.inNewline = true
		}
		k := copy(p[n:], c.cur[c.off:])
		c.off += k
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
