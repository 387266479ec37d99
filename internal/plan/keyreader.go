package plan

import (
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/rawjson"
	"github.com/segmatch/segmatch/operators"
)

// KeyReader is the key tree a Program reads raw contacts with, for paths
// given by another package (audience's field index, which must read
// every contact exactly as MatchJSON does): the values of many paths
// from one validating pass over a contact. It is immutable; a KeyReading
// is one goroutine's.
type KeyReader struct{ t *keyTree }

// NewKeyReader is the tree of paths; path i is read as Value(i).
func NewKeyReader(paths []filter.Path) *KeyReader { return &KeyReader{newKeyTree(paths)} }

// KeyReading is one contact's members on a KeyReader's tree.
type KeyReading struct{ c *collected }

// NewReading makes a reading, to reuse contact after contact.
func (r *KeyReader) NewReading() *KeyReading { return &KeyReading{newCollected(r.t)} }

// Read validates raw and collects the tree's members in the same pass
// (MatchJSON's). The reading refers into raw until Reset or the next Read.
func (c *KeyReading) Read(raw []byte) error {
	c.c.start(bytesString(raw))
	return rawjson.ValidateCollect(raw, c.c, rawjson.MaxCollectDepth)
}

// Reset drops the references into the last contact.
func (c *KeyReading) Reset() { c.c.reset() }

// Value is path i's value in the last contact read.
func (c *KeyReading) Value(i int) operators.Value { return c.c.value(i) }

// Source is where path i's value is read from in the last contact read:
// the node of the tree and its text, the steps after the node being the
// path's (missing: the path is). Two readings of one tree with the same
// node and text give path i one value.
func (c *KeyReading) Source(i int) (node int32, text string, missing bool) {
	from, _, missing := c.c.resolve(i)
	if missing {
		return -1, "", true
	}
	return from, c.c.raw[from], false
}
