package audience

import (
	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// fieldIndex answers a segment's members among the index's contacts.
//
// This first version scans: it evaluates the compiled program on every
// contact. It is the reference the indexed version must equal.
type fieldIndex struct{}

func newFieldIndex() *fieldIndex { return &fieldIndex{} }

// add indexes the values of contact n (raw is one valid JSON object).
func (f *fieldIndex) add(n uint32, raw []byte) {}

// remove drops contact n's values (raw is what add was given).
func (f *fieldIndex) remove(n uint32, raw []byte) {}

// bytes estimates the index's memory.
func (f *fieldIndex) bytes() int { return 0 }

// query is seg's members among ix's live contacts, prog being seg compiled
// at the query's clock. Callers hold ix.mu for reading.
func (f *fieldIndex) query(ix *Index, seg filter.Segment, prog *segmatch.Program) (*roaring.Bitmap, error) {
	return scan(ix, ix.live, prog), nil
}

// scan evaluates prog on the contacts of candidates.
func scan(ix *Index, candidates *roaring.Bitmap, prog *segmatch.Program) *roaring.Bitmap {
	out := roaring.New()
	it := candidates.Iterator()
	for it.HasNext() {
		n := it.Next()
		if ok, err := prog.MatchJSON(ix.raws[n]); err == nil && ok {
			out.Add(n)
		}
	}
	return out
}
