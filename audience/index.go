package audience

import (
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/tidwall/gjson"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// Options configures an Index. The zero value is the defaults.
type Options struct {
	// IDFields are the top-level keys a contact's id is read from, the
	// first present wins. Default: _id, then lead_id, then id.
	IDFields []string
	// MaxContactBytes bounds one contact's JSON. Default: 1 MiB.
	MaxContactBytes int
	// Now is the clock of relative dates. Default: time.Now.
	Now func() time.Time
	// MaxIndexedPaths bounds the field paths the field index keeps
	// (each costs memory and upkeep on every write): past it, indexing
	// a path evicts the least recently used ones (those of the query
	// indexing it excepted), and a query needing an evicted path indexes
	// it again. Default: DefaultMaxIndexedPaths.
	MaxIndexedPaths int
	// OnEvents, when set, receives every write's events, in order, before
	// the write returns (a slow receiver slows the writer: backpressure,
	// nothing dropped). The write's return value carries them too.
	OnEvents func([]Event)
}

// DefaultIDFields are where a contact's id is read from by default.
var DefaultIDFields = []string{"_id", "lead_id", "id"}

// DefaultMaxContactBytes is the default bound on one contact.
const DefaultMaxContactBytes = 1 << 20

// DefaultMaxIndexedPaths is the default bound on the field paths kept
// indexed (Options.MaxIndexedPaths): ad-hoc queries on ever new paths
// would otherwise grow the field index without end.
const DefaultMaxIndexedPaths = 256

// Index is contacts in memory, the members of every registered segment,
// and a field index for ad-hoc queries. See the package doc for the
// concurrency contract.
type Index struct {
	opts Options

	wmu sync.Mutex   // one write at a time
	mu  sync.RWMutex // readers against the part of a write that changes state

	// Contacts, by dense number (numbering.go).
	num  *numbering
	byID map[string]uint32 // the live contacts' numbers: num.byID
	// A number is not given twice: ids[n] stays the id of contact n after
	// it is removed, so that a Query taken before still names its
	// members, until the index renumbers (then a Query's numbering is
	// frozen with it).
	ids   []string
	raws  [][]byte        // number -> the contact's JSON (nil once removed)
	live  *roaring.Bitmap // numbers of the contacts present
	bytes int             // total of the raws kept

	// Registered segments.
	reg *registry

	fields *fieldIndex

	renumbers int // (tests)

	// scanAt is the clock of the registered segments' programs
	// (scanClock); written under wmu.
	scanAt time.Time
}

// New makes an empty index.
func New(opts Options) *Index {
	if len(opts.IDFields) == 0 {
		opts.IDFields = DefaultIDFields
	}
	if opts.MaxContactBytes <= 0 {
		opts.MaxContactBytes = DefaultMaxContactBytes
	}
	if opts.MaxIndexedPaths <= 0 {
		opts.MaxIndexedPaths = DefaultMaxIndexedPaths
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ix := &Index{opts: opts, num: newNumbering(), live: roaring.New()}
	ix.byID = ix.num.byID
	ix.reg = &registry{}
	ix.fields = newFieldIndex(opts.MaxIndexedPaths)
	return ix
}

// Len is the number of contacts.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// idOf reads a contact's id (ContactID), a copy: raw is the caller's.
func (ix *Index) idOf(raw []byte) (string, error) {
	id, _ := ContactID(raw, ix.opts.IDFields)
	if id == "" {
		return "", ErrNoID
	}
	return strings.Clone(id), nil
}

// ContactID reads a contact's id as an Index does: the first of fields
// (DefaultIDFields when none) that holds a non-empty string or a number
// (as written), and that field; "", "" when none does. The leads API and
// the workers read ids with it, so a contact has one id everywhere.
func ContactID(raw []byte, fields []string) (id, field string) {
	if len(fields) == 0 {
		fields = DefaultIDFields
	}
	for _, k := range fields {
		v := gjson.GetBytes(raw, escapeKey(k))
		switch v.Type {
		case gjson.String:
			if v.Str != "" {
				return v.Str, k
			}
		case gjson.Number:
			return v.Raw, k
		}
	}
	return "", ""
}

// escapeKey makes a key a gjson path of one step.
func escapeKey(k string) string {
	if !strings.ContainsAny(k, `.*?|#@\!=<>%`) {
		return k
	}
	var b strings.Builder
	for _, r := range k {
		if strings.ContainsRune(`.*?|#@\!=<>%`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validObject is MatchJSON's check: one well-formed JSON object.
func validObject(raw []byte) error {
	_, err := alwaysProgram.MatchJSON(raw)
	return err
}

// alwaysProgram is the empty segment: it validates a contact and reads
// nothing.
var alwaysProgram = func() *segmatch.Program {
	p, err := segmatch.Compile(filter.Segment{Filters: []filter.Filter{}})
	if err != nil {
		panic(err)
	}
	return p
}()

// idsOf lists the ids of a bitmap's contacts, ids naming its numbers, in
// id order (stable across writes, unlike the numbers).
func idsOf(ids []string, bm *roaring.Bitmap) []string {
	out := make([]string, 0, bm.GetCardinality())
	it := bm.Iterator()
	for it.HasNext() {
		out = append(out, ids[it.Next()])
	}
	sortStrings(out)
	return out
}
