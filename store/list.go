package store

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/segmatch/segmatch/filter"
)

// Paging defaults and bounds, as in Tiledesk's segments API.
const (
	DefaultLimit = 40
	MaxLimit     = 1000
)

// Sort keys for ListOptions.Sort.
const (
	SortCreatedAt = "createdAt" // the default
	SortUpdatedAt = "updatedAt"
	SortName      = "name" // byte-wise, as MongoDB's default collation
	SortID        = "_id"  // the id, which sorts by creation time (IDGen)
)

// Directions for ListOptions.Direction.
const (
	Ascending  = 1
	Descending = -1 // the default (newest first)
)

// ListOptions selects one page of a project's active segments. The zero
// value means the defaults (Tiledesk's): 40 per page, page 0, newest
// first by createdAt. Whatever the sort key, ties are broken by id in the
// same direction, so the order is total and paging never skips or repeats
// a segment of an unchanging list.
type ListOptions struct {
	Limit     int    // segments per page, 1..MaxLimit; 0 means DefaultLimit
	Page      int    // 0-based page number; negative is invalid
	Sort      string // SortCreatedAt, SortUpdatedAt, SortName or SortID; "" means SortCreatedAt
	Direction int    // Ascending or Descending; 0 means Descending
}

// Check validates o and fills in the defaults. An invalid option is a
// *ParamError (wrapping ErrInvalid): options are never silently fixed.
func (o ListOptions) Check() (ListOptions, error) {
	switch {
	case o.Limit == 0:
		o.Limit = DefaultLimit
	case o.Limit < 0 || o.Limit > MaxLimit:
		return o, &ParamError{"limit", strconv.Itoa(o.Limit), "want 1 to " + strconv.Itoa(MaxLimit)}
	}
	if o.Page < 0 {
		return o, &ParamError{"page", strconv.Itoa(o.Page), "want 0 or more"}
	}
	switch o.Sort {
	case "":
		o.Sort = SortCreatedAt
	case SortCreatedAt, SortUpdatedAt, SortName, SortID:
	default:
		return o, &ParamError{"sort", o.Sort, sortWant}
	}
	switch o.Direction {
	case 0:
		o.Direction = Descending
	case Ascending, Descending:
	default:
		return o, &ParamError{"direction", strconv.Itoa(o.Direction), "want 1 or -1"}
	}
	return o, nil
}

// sortWant is what a bad sort key is told.
const sortWant = "want createdAt, updatedAt, name or _id"

// ParseListOptions reads list options from a query string (limit, page,
// sort, direction), strictly: a parameter that is present must be valid
// (limit=0, limit=abc, direction=2, a repeated parameter are all errors);
// absent ones take the defaults. Other parameters are ignored. direction
// is written as Tiledesk's clients send it to mongoose's sort: 1 or -1,
// asc or desc, ascending or descending (in any case).
func ParseListOptions(q url.Values) (ListOptions, error) {
	var o ListOptions
	get := func(name string) (string, bool, error) {
		vs, ok := q[name]
		switch {
		case !ok:
			return "", false, nil
		case len(vs) != 1:
			return "", false, &ParamError{name, strings.Join(vs, ","), "given more than once"}
		}
		return vs[0], true, nil
	}
	integer := func(name string, min, max int) (int, bool, error) {
		v, ok, err := get(name)
		if !ok || err != nil {
			return 0, false, err
		}
		n, perr := strconv.Atoi(v)
		if perr != nil || n < min || n > max {
			return 0, false, &ParamError{name, v, "want an integer from " + strconv.Itoa(min) + " to " + strconv.Itoa(max)}
		}
		return n, true, nil
	}
	var err error
	if o.Limit, _, err = integer("limit", 1, MaxLimit); err != nil {
		return o, err
	}
	if o.Page, _, err = integer("page", 0, 1<<31-1); err != nil {
		return o, err
	}
	if v, ok, err := get("sort"); err != nil {
		return o, err
	} else if ok {
		if v == "" {
			return o, &ParamError{"sort", v, sortWant}
		}
		o.Sort = v
	}
	if v, ok, err := get("direction"); err != nil {
		return o, err
	} else if ok {
		switch strings.ToLower(v) {
		case "1", "asc", "ascending":
			o.Direction = Ascending
		case "-1", "desc", "descending":
			o.Direction = Descending
		default:
			return o, &ParamError{"direction", v, "want 1, -1, asc or desc"}
		}
	}
	return o.Check()
}

// SortSegments sorts segs in place as o (already checked) asks.
func SortSegments(segs []filter.Segment, o ListOptions) {
	slices.SortFunc(segs, func(a, b filter.Segment) int { return CompareSegments(a, b, o) })
}

// CompareSegments orders a and b as List does for o (already checked):
// by o.Sort, ties broken by id, both in o.Direction. It is negative when a
// comes first, zero only for the same id.
func CompareSegments(a, b filter.Segment, o ListOptions) int {
	var c int
	switch o.Sort {
	case SortUpdatedAt:
		c = a.UpdatedAt.Compare(b.UpdatedAt)
	case SortName:
		c = strings.Compare(a.Name, b.Name)
	case SortID:
		c = 0 // the tie-break below
	default:
		c = a.CreatedAt.Compare(b.CreatedAt)
	}
	if c == 0 {
		c = cmp.Compare(a.ID, b.ID)
	}
	if o.Direction == Descending {
		c = -c
	}
	return c
}

// PageOf returns the page o (already checked) selects from sorted segs.
func PageOf(segs []filter.Segment, o ListOptions) []filter.Segment {
	if o.Page >= len(segs) { // also keeps Page*Limit from overflowing
		return []filter.Segment{}
	}
	lo := o.Page * o.Limit
	if lo >= len(segs) {
		return []filter.Segment{}
	}
	hi := min(lo+o.Limit, len(segs))
	return segs[lo:hi]
}

// ListPage is List for implementations that load every active segment of
// a project: it sorts segs (in place) and returns the page and the total.
func ListPage(segs []filter.Segment, o ListOptions) ([]filter.Segment, int) {
	SortSegments(segs, o)
	return PageOf(segs, o), len(segs)
}
