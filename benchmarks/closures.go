package benchmarks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
)

// MapBackend classifies decoded contacts (maps, as encoding/json decodes
// them): what an embedder that already holds maps calls.
type MapBackend interface {
	Name() string
	ClassifyMap(m map[string]any, dst []bool)
}

// Map backends.
const (
	EngineMap = "engine (maps)"
	Closures  = "closures"
)

// NewEngineMap is the engine's map path (ClassifyMapInto).
func NewEngineMap(segs []filter.Segment) (MapBackend, error) {
	eng, err := engine.New(segs)
	if err != nil {
		return nil, err
	}
	return &engineMap{eng: eng, res: eng.NewResult()}, nil
}

type engineMap struct {
	eng *engine.Engine
	res *engine.Result
}

func (e *engineMap) Name() string { return EngineMap }

func (e *engineMap) ClassifyMap(m map[string]any, dst []bool) {
	e.eng.ClassifyMapInto(m, e.res)
	copy(dst, e.res.Matches)
}

// NewClosures is the baseline a Go programmer would write by hand for the
// workload's segments: one closure per condition over the decoded map,
// each segment an and/or of them, every segment decided on its own. It
// knows the workload's operators only (eq, ne, in, gt, gte, lt, lte,
// contains, starts_with, ends_with, is_set) with their missing, null,
// array and numeric-string rules, so that it agrees with the engine
// (checked before timing).
func NewClosures(segs []filter.Segment) (MapBackend, error) {
	c := &closures{}
	for i := range segs {
		f, err := closureGroup(segs[i].Match, segs[i].Filters)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		c.segs = append(c.segs, f)
	}
	return c, nil
}

type closures struct{ segs []func(map[string]any) bool }

func (c *closures) Name() string { return Closures }

func (c *closures) ClassifyMap(m map[string]any, dst []bool) {
	for i, f := range c.segs {
		dst[i] = f(m)
	}
}

type pred = func(map[string]any) bool

func closureGroup(match filter.Match, fs []filter.Filter) (pred, error) {
	var kids []pred
	for i := range fs {
		f := &fs[i]
		var k pred
		var err error
		if f.IsGroup() {
			k, err = closureGroup(f.Match, f.Filters)
		} else {
			k, err = closureCond(f)
		}
		if err != nil {
			return nil, err
		}
		if f.Negate {
			pos := k
			k = func(m map[string]any) bool { return !pos(m) }
		}
		kids = append(kids, k)
	}
	if match == filter.Any && len(kids) > 0 {
		return func(m map[string]any) bool {
			for _, k := range kids {
				if k(m) {
					return true
				}
			}
			return false
		}, nil
	}
	return func(m map[string]any) bool {
		for _, k := range kids {
			if !k(m) {
				return false
			}
		}
		return true
	}, nil
}

// closureCond is one condition: the field's value looked up by its path
// (an array fans out: any element), then the operator's test.
func closureCond(f *filter.Filter) (pred, error) {
	path := strings.Split(f.Field, ".")
	var v any
	if len(f.Value) > 0 {
		if err := json.Unmarshal(f.Value, &v); err != nil {
			return nil, err
		}
	}
	var test func(x any) bool
	negate := false
	switch f.Operator {
	case "is_set":
		return func(m map[string]any) bool { x, ok := lookup(m, path); return ok && x != nil }, nil
	case "eq", "ne":
		negate = f.Operator == "ne"
		switch want := v.(type) {
		case string:
			test = func(x any) bool { s, ok := x.(string); return ok && s == want }
		case float64:
			test = func(x any) bool { n, ok := number(x); return ok && n == want }
		case bool:
			test = func(x any) bool { b, ok := x.(bool); return ok && b == want }
		default:
			return nil, fmt.Errorf("closures: eq %T", v)
		}
	case "in":
		set := map[string]bool{}
		for _, e := range v.([]any) {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("closures: in with %T", e)
			}
			set[s] = true
		}
		test = func(x any) bool { s, ok := x.(string); return ok && set[s] }
	case "gt", "gte", "lt", "lte":
		cut, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("closures: %s %T", f.Operator, v)
		}
		switch f.Operator {
		case "gt":
			test = func(x any) bool { n, ok := number(x); return ok && n > cut }
		case "gte":
			test = func(x any) bool { n, ok := number(x); return ok && n >= cut }
		case "lt":
			test = func(x any) bool { n, ok := number(x); return ok && n < cut }
		default:
			test = func(x any) bool { n, ok := number(x); return ok && n <= cut }
		}
	case "contains":
		want := v.(string)
		return func(m map[string]any) bool {
			x, ok := lookup(m, path)
			if !ok {
				return false
			}
			if s, ok := x.(string); ok {
				return strings.Contains(s, want)
			}
			if a, ok := x.([]any); ok {
				for _, e := range a {
					if s, ok := e.(string); ok && s == want {
						return true
					}
				}
			}
			return false
		}, nil
	case "starts_with":
		want := v.(string)
		test = func(x any) bool { s, ok := x.(string); return ok && strings.HasPrefix(s, want) }
	case "ends_with":
		want := v.(string)
		test = func(x any) bool { s, ok := x.(string); return ok && strings.HasSuffix(s, want) }
	default:
		return nil, fmt.Errorf("closures: operator %q is not the workload's", f.Operator)
	}
	return func(m map[string]any) bool {
		x, ok := lookup(m, path)
		if !ok {
			return negate
		}
		if a, isArr := x.([]any); isArr {
			for _, e := range a {
				if test(e) {
					return !negate
				}
			}
			return negate
		}
		return test(x) != negate
	}, nil
}

// lookup walks a dotted path through nested objects.
func lookup(m map[string]any, path []string) (any, bool) {
	var x any = m
	for _, k := range path {
		o, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		if x, ok = o[k]; !ok {
			return nil, false
		}
	}
	return x, true
}

// number reads a number, or a string that is entirely a decimal number.
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil && !strings.ContainsAny(n, "xXpPnNiI_ ")
	}
	return 0, false
}

// MapResult is one map backend's time per decoded contact.
type MapResult struct {
	Name     string
	WallNs   float64 // wall ns per contact
	CPUNs    float64 // process CPU ns per contact
	Contacts int     // contacts classified while measuring
}

// MeasureMaps times the engine's map path and the hand-written closures
// on the workload's decoded contacts, each for about d after a warm-up
// pass, after checking that they agree on every pair. It fails when the
// closures cannot express the workload (operators outside theirs).
func MeasureMaps(w *Workload, d time.Duration) ([]MapResult, error) {
	eng, err := NewEngineMap(w.Segments)
	if err != nil {
		return nil, err
	}
	cl, err := NewClosures(w.Segments)
	if err != nil {
		return nil, err
	}
	want, got := make([]bool, len(w.Segments)), make([]bool, len(w.Segments))
	for ci, m := range w.Maps {
		eng.ClassifyMap(m, want)
		cl.ClassifyMap(m, got)
		for i := range want {
			if want[i] != got[i] {
				return nil, fmt.Errorf("benchmarks: closures disagree with the engine on contact %d, segment %d", ci, i)
			}
		}
	}
	var out []MapResult
	for _, be := range []MapBackend{eng, cl} {
		dst := make([]bool, len(w.Segments))
		n := 0
		start, cpu0 := time.Now(), processCPU()
		for time.Since(start) < d || n < len(w.Maps) {
			for _, m := range w.Maps {
				be.ClassifyMap(m, dst)
			}
			n += len(w.Maps)
		}
		wall, cpu := time.Since(start), processCPU()-cpu0
		out = append(out, MapResult{Name: be.Name(), WallNs: float64(wall.Nanoseconds()) / float64(n),
			CPUNs: float64(cpu.Nanoseconds()) / float64(n), Contacts: n})
	}
	return out, nil
}
