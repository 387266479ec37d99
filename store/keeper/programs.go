package keeper

import (
	"container/list"
	"fmt"
	"slices"
	"sync"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// CompileFunc compiles one segment: segmatch.Compile, with the options
// the keeper's BuildFunc uses (e.g. the same segmatch.WithNow), so that
// a segment's own program and the built classifier agree.
type CompileFunc func(seg filter.Segment) (*segmatch.Program, error)

// DefaultProgramCacheBytes bounds a ProgramCache by default: the sum of
// the cached programs' Program.Size.
const DefaultProgramCacheBytes = 64 << 20

// ProgramCache keeps compiled segments, each under its project, id and
// updatedAt: a stored segment's updatedAt strictly grows at every write,
// so the three name one version of its definition, and a later version
// is a different entry (older ones age out). It is bounded by the total
// Program.Size of its entries, evicting the least recently used.
//
// Concurrent requests for one version compile it once: the others wait
// for that compile. A compile error is returned but not kept. A segment
// without an id or an updatedAt (not from a store) is compiled every
// time and never kept.
type ProgramCache struct {
	compile CompileFunc
	max     int

	mu       sync.Mutex
	size     int
	items    map[programKey]*cached
	versions map[segmentKey][]*cached // the items of each segment
	lru      list.List                // of *cached, most recently used first
}

type segmentKey struct{ project, id string }

type programKey struct {
	project, id string
	at          int64 // updatedAt, Unix nanoseconds
}

type cached struct {
	key  programKey
	done chan struct{} // closed once prog or err is set
	prog *segmatch.Program
	err  error
	elem *list.Element // in lru once compiled and kept
	// forgotten: dropped (evicted, failed or forgotten), never to be kept
	forgotten bool
}

// NewProgramCache returns a cache compiling with compile (nil:
// segmatch.Compile) and holding at most maxBytes of programs (0 or less:
// DefaultProgramCacheBytes).
func NewProgramCache(compile CompileFunc, maxBytes int) *ProgramCache {
	if compile == nil {
		compile = func(seg filter.Segment) (*segmatch.Program, error) { return segmatch.Compile(seg) }
	}
	if maxBytes <= 0 {
		maxBytes = DefaultProgramCacheBytes
	}
	return &ProgramCache{compile: compile, max: maxBytes, items: map[programKey]*cached{}, versions: map[segmentKey][]*cached{}}
}

// Program returns the compiled seg of project, compiling it only when
// this version is not kept.
func (c *ProgramCache) Program(project string, seg filter.Segment) (*segmatch.Program, error) {
	if seg.ID == "" || seg.UpdatedAt.IsZero() {
		return c.compileSafe(seg)
	}
	key := programKey{project: project, id: seg.ID, at: seg.UpdatedAt.UnixNano()}
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		<-e.done
		return e.prog, e.err
	}
	e := &cached{key: key, done: make(chan struct{})}
	c.items[key] = e
	sk := segmentKey{project, seg.ID}
	c.versions[sk] = append(c.versions[sk], e)
	c.mu.Unlock()

	prog, err := c.compileSafe(seg)
	c.mu.Lock()
	e.prog, e.err = prog, err
	switch {
	case e.forgotten: // Forget ran during the compile
	case err != nil || prog.Size() > c.max:
		c.drop(e)
	default:
		e.elem = c.lru.PushFront(e)
		c.size += prog.Size()
		for c.size > c.max {
			c.drop(c.lru.Back().Value.(*cached))
		}
	}
	c.mu.Unlock()
	close(e.done)
	return prog, err
}

// drop removes e from the cache. Called with c.mu held.
func (c *ProgramCache) drop(e *cached) {
	if c.items[e.key] == e {
		delete(c.items, e.key)
	}
	sk := segmentKey{e.key.project, e.key.id}
	if vs := slices.DeleteFunc(c.versions[sk], func(v *cached) bool { return v == e }); len(vs) > 0 {
		c.versions[sk] = vs
	} else {
		delete(c.versions, sk)
	}
	if e.elem != nil {
		c.lru.Remove(e.elem)
		e.elem = nil
		c.size -= e.prog.Size()
	}
	e.forgotten = true
}

// Forget drops every kept version of segment id of project (the keeper
// calls it when the segment is deleted: its programs would only wait to
// age out). A compile under way is returned to its callers, not kept.
func (c *ProgramCache) Forget(project, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range slices.Clone(c.versions[segmentKey{project, id}]) {
		c.drop(e)
	}
}

// compileSafe is compile, with a panic (a bug: compiling never panics on
// any input) turned into an error, so that waiters are never stranded.
func (c *ProgramCache) compileSafe(seg filter.Segment) (prog *segmatch.Program, err error) {
	defer func() {
		if p := recover(); p != nil {
			prog, err = nil, fmt.Errorf("keeper: compiling segment %s panicked: %v", seg.Key(), p)
		}
	}()
	return c.compile(seg)
}

// Usage reports how many programs are kept and their total size.
func (c *ProgramCache) Usage() (programs, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.size
}
