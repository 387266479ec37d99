package audience

import "github.com/segmatch/segmatch/filter"

// What the server (package leads) needs to keep ad-hoc queries fast on a
// large index: the field paths a set of segments reads indexed ahead of
// the queries, in one pass over the contacts, rather than by the first
// queries that need them (one pass each, while every other query on the
// same paths waits).

// IndexPaths indexes the field paths that queries of segs would read
// through the field index and that are not indexed (never, or dropped
// since: see the package doc on memory), every one in a single pass over
// the contacts, and returns how many it indexed. Paths indexed already
// are left as they are (a behind one is caught up by its next reader, as
// always). An empty index indexes nothing: a path is indexed once there
// are contacts to read. It runs beside queries, as they do (it holds the
// index for reading); a query wanting a path it is building waits for it.
func (ix *Index) IndexPaths(segs []filter.Segment) int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live.IsEmpty() {
		return 0
	}
	f := ix.fields
	seen := map[string]bool{}
	var paths []filter.Path
	for i := range segs {
		q := newQuerier(ix, f, &segs[i])
		var walk func(fs []filter.Filter)
		walk = func(fs []filter.Filter) {
			for i := range fs {
				fl := &fs[i]
				if fl.IsGroup() {
					walk(fl.Filters)
					continue
				}
				if c := q.class(fl); c != classIndexed && c != classScalar {
					continue
				}
				p, err := filter.ParsePath(fl.Field)
				if err != nil {
					continue
				}
				k := p.String()
				if seen[k] {
					continue
				}
				seen[k] = true
				f.mu.Lock()
				pi := f.paths[k]
				missing := pi == nil || pi.built == nil
				f.mu.Unlock()
				if missing {
					paths = append(paths, p)
				}
			}
		}
		walk(segs[i].Filters)
	}
	if len(paths) == 0 {
		return 0
	}
	f.path(ix, paths[0], paths[1:])
	return len(paths)
}
