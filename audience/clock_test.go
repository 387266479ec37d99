package audience_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/filter"
)

// TestOneClock: a WithNow given to SetSegments does not give the
// registered segments a clock apart from the index's: two identical
// contacts, one there before the segment and one upserted after, are
// both members or both not.
func TestOneClock(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ix := audience.New(audience.Options{Now: func() time.Time { return now }})
	_, err := ix.Upsert([]byte(`{"_id":"a","seen":"2026-11-30T00:00:00Z"}`))
	require.NoError(t, err)
	seg := filter.Segment{ID: "recent", Filters: []filter.Filter{filter.Cond("seen", "within_last", "3d")}}
	_, err = ix.SetSegments([]filter.Segment{seg}, segmatch.WithNow(func() time.Time { return now.AddDate(1, 0, 0) }))
	require.NoError(t, err)
	_, err = ix.Upsert([]byte(`{"_id":"b","seen":"2026-11-30T00:00:00Z"}`))
	require.NoError(t, err)
	members, err := ix.Members("recent")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a", "b"}, members)
}
