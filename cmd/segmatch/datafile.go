package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	bbolterrors "go.etcd.io/bbolt/errors"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
)

// dataLockTimeout is how long reading the store's data file waits for a
// writer (a running `segmatch serve`) to let go of it.
var dataLockTimeout = 2 * time.Second

// boltMagic opens a bbolt file's meta page, right after the 16-byte page
// header, in the byte order of the machine that wrote it.
const boltMagic = 0xED0CDAED

// isDataFile reports whether file is a bbolt file (the store's data file
// of `segmatch serve --data`) rather than JSON: one of its meta pages
// (page 0, or page 1 at any page size up to 64 KiB) has bbolt's magic,
// so that a file whose first meta page is damaged is still reported as
// a damaged store (by bolt.Open), not as malformed JSON.
func isDataFile(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false // readFile reports it
	}
	defer f.Close()
	for _, at := range []int64{0, 1 << 10, 2 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10} {
		var head [20]byte
		if _, err := f.ReadAt(head[:], at); err != nil {
			return false
		}
		if binary.LittleEndian.Uint32(head[16:]) == boltMagic || binary.BigEndian.Uint32(head[16:]) == boltMagic {
			return true
		}
	}
	return false
}

// storeLimitFlags declares the store limits of `segmatch serve`
// (--max-segments, --max-project-bytes); the function returned gives the
// limits parsed.
func storeLimitFlags(fs *flag.FlagSet) func() store.Limits {
	segs := fs.Int("max-segments", store.DefaultMaxSegments, "at most `N` active segments per project (0: no limit)")
	size := byteSize(store.DefaultMaxProjectBytes)
	fs.Var(&size, "max-project-bytes", "at most `SIZE` of compiled segments per project, estimated (bytes, or with KiB, MiB, GiB; 0: no limit)")
	return func() store.Limits {
		l := store.Limits{MaxSegments: *segs, MaxBytes: int64(size)}
		if l.MaxSegments <= 0 {
			l.MaxSegments = -1
		}
		if l.MaxBytes <= 0 {
			l.MaxBytes = -1
		}
		return l
	}
}

// byteSize is a flag of a size in bytes: 1048576, 1MiB, 512KiB, 2GiB.
type byteSize int64

func (b *byteSize) String() string {
	for _, u := range []struct {
		unit string
		n    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if *b != 0 && int64(*b)%u.n == 0 {
			return strconv.FormatInt(int64(*b)/u.n, 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	for _, u := range []struct {
		unit string
		n    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if t, ok := strings.CutSuffix(s, u.unit); ok {
			s, mult = t, u.n
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return errors.New("want a size in bytes, such as 268435456 or 256MiB")
	}
	*b = byteSize(n * mult)
	return nil
}

// loadDataFile reads a project's active segments from the store's data
// file, read-only (the file is never changed), oldest first, and
// compiles them as loadSegments does. The file is shared with other
// readers, but a running `segmatch serve` holds it: then it is an error
// after dataLockTimeout.
func loadDataFile(file, project string, now func() time.Time, mode compileMode) (*segmentSet, error) {
	if project == "" {
		return nil, fmt.Errorf("%s is a segment store (the data file of `segmatch serve --data`), which holds many projects: choose one with --project PROJECT_ID", file)
	}
	st, err := bolt.Open(file, bolt.WithReadOnly(), bolt.WithLockTimeout(dataLockTimeout))
	if err != nil {
		if errors.Is(err, bbolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%s: in use by another process (a running `segmatch serve --data %s`?): stop it, or save the segments from GET /v3/%s/segments to a file and use that", file, file, project)
		}
		return nil, err
	}
	defer st.Close()
	segs, err := listAllSegments(context.Background(), st, project)
	if err != nil {
		return nil, fmt.Errorf("%s: project %s: %w", file, project, err)
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("%s: project %s has no segments", file, project)
	}
	set := &segmentSet{file: fmt.Sprintf("%s (project %s)", file, project)}
	for i, seg := range segs {
		raw, err := json.Marshal(seg)
		if err != nil {
			return nil, fmt.Errorf("%s: segment %s: %w", file, seg.ID, err)
		}
		set.entries = append(set.entries, &entry{index: i, id: seg.ID, name: seg.Name, raw: raw})
	}
	set.compile(now, mode)
	return set, nil
}

// listAllSegments reads every page of a project's active segments, in
// creation order (ties broken by id), so that a run's segment order is
// the order they were made in.
func listAllSegments(ctx context.Context, st store.Store, project string) ([]filter.Segment, error) {
	var all []filter.Segment
	for page := 0; ; page++ {
		segs, total, err := st.List(ctx, project, store.ListOptions{
			Limit: store.MaxLimit, Page: page, Sort: store.SortCreatedAt, Direction: store.Ascending,
		})
		if err != nil {
			return nil, err
		}
		all = append(all, segs...)
		if len(segs) == 0 || len(all) >= total {
			return all, nil
		}
	}
}
