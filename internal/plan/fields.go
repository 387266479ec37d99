package plan

import (
	"strings"

	"github.com/segmatch/segmatch/filter"
)

// fieldSet numbers the distinct field paths a program reads: its slots.
type fieldSet struct {
	names []string
	paths []filter.Path
	index map[string]int
	// tops are the distinct first keys of the paths: a decoded contact's
	// top-level members are looked up once each. Per slot, slotTop is the
	// index into tops (-1 for the empty path and a path starting "#").
	tops    []string
	topIdx  map[string]int
	slotTop []int
}

// path parses name, or returns the path of its slot when it has one.
func (s *fieldSet) path(name string) (filter.Path, error) {
	if i, ok := s.index[name]; ok {
		return s.paths[i], nil
	}
	return filter.ParsePath(name)
}

func (s *fieldSet) add(name string, p filter.Path) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	if s.index == nil {
		s.index = map[string]int{}
	}
	// A decoded segment's strings share its document's bytes: kept, a
	// field name would keep the whole document alive.
	name = strings.Clone(name)
	s.index[name] = len(s.names)
	s.names = append(s.names, name)
	s.paths = append(s.paths, p)
	t := -1
	if len(p) > 0 && !p[0].Len { // a leading "#" is the document's length, no key
		if s.topIdx == nil {
			s.topIdx = map[string]int{}
		}
		var ok bool
		if t, ok = s.topIdx[p[0].Key]; !ok {
			t = len(s.tops)
			s.topIdx[p[0].Key] = t
			s.tops = append(s.tops, p[0].Key)
		}
	}
	s.slotTop = append(s.slotTop, t)
	return len(s.names) - 1
}
