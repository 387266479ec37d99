package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/engine"
	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/internal/testkit/race"
	"github.com/segmatch/segmatch/internal/testkit/randgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixedNow() segmatch.Option { return segmatch.WithNow(func() time.Time { return cases.Now }) }

// TestCases: the core table through the engine, all rows' segments in one
// engine so that shared conditions and slots are exercised.
func TestCases(t *testing.T) {
	all := cases.All()
	var segs []filter.Segment
	for i, c := range all {
		s := c.Segment
		s.ID = fmt.Sprint(i)
		segs = append(segs, s)
	}
	eng, err := engine.New(segs, fixedNow())
	require.NoError(t, err)
	res := eng.NewResult()
	for i, c := range all {
		require.NoError(t, eng.ClassifyJSONInto([]byte(c.Contact), res))
		assert.Equal(t, c.Want, res.Matches[i], "json %s", c.Name)
		ids := eng.ClassifyMap(c.ContactMap())
		assert.Equal(t, c.Want, contains(ids, fmt.Sprint(i)), "map %s", c.Name)
	}
	t.Logf("%d rows, %d segments, %d distinct conditions, %d fields", len(all), eng.Len(), eng.Conditions(), len(eng.Fields()))
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// TestAgreesWithProgram: for random segments (all at once, so sharing is
// exercised, including the same condition under different flags) and
// random contacts, the engine equals Program.MatchJSON of each segment.
func TestAgreesWithProgram(t *testing.T) {
	g := randgen.New(7)
	var contacts [][]byte
	for range 300 {
		b, err := json.Marshal(g.Contact())
		require.NoError(t, err)
		contacts = append(contacts, b)
	}
	nSeg := 1500
	if testing.Short() {
		nSeg = 300
	}
	var segs []filter.Segment
	for i := range nSeg {
		s := g.Segment()
		s.ID = fmt.Sprint(i)
		segs = append(segs, s)
		if i%5 == 0 { // the same conditions again, flags flipped
			twin := s
			twin.ID = fmt.Sprint(i, "-twin")
			twin.Filters = flipFlags(s.Filters)
			segs = append(segs, twin)
		}
	}
	eng, progs := engineAndPrograms(t, segs)
	res := eng.NewResult()
	pairs := 0
	for _, c := range contacts {
		require.NoError(t, eng.ClassifyJSONInto(c, res))
		for i, p := range progs {
			want, err := p.MatchJSON(c)
			require.NoError(t, err)
			if want != res.Matches[i] {
				sj, _ := json.Marshal(segs[i])
				t.Fatalf("segment %s: engine %v, program %v\nsegment %s\ncontact %s", segs[i].ID, res.Matches[i], want, sj, c)
			}
			pairs++
		}
	}
	t.Logf("%d segments (%d distinct conditions), %d pairs agree", len(segs), eng.Conditions(), pairs)
}

func flipFlags(fs []filter.Filter) []filter.Filter {
	out := make([]filter.Filter, len(fs))
	for i, f := range fs {
		f.Negate = !f.Negate
		if !f.IsGroup() {
			f.IgnoreCase = !f.IgnoreCase
		} else {
			f.Filters = flipFlags(f.Filters)
		}
		out[i] = f
	}
	return out
}

// TestSampleData: the shipped segments and leads through the engine equal
// one Program per segment.
func TestSampleData(t *testing.T) {
	raw, err := os.ReadFile("../testdata/segments.json")
	require.NoError(t, err)
	var segs []filter.Segment
	require.NoError(t, json.Unmarshal(raw, &segs))
	eng, err := engine.New(segs, fixedNow())
	require.NoError(t, err)
	progs := make([]*segmatch.Program, len(segs))
	for i, s := range segs {
		progs[i], err = segmatch.Compile(s, fixedNow())
		require.NoError(t, err)
	}
	f, err := os.Open("../testdata/leads.jsonl")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	res := eng.NewResult()
	n := 0
	for sc.Scan() {
		require.NoError(t, eng.ClassifyJSONInto(sc.Bytes(), res))
		for i, p := range progs {
			want, _ := p.MatchJSON(sc.Bytes())
			require.Equal(t, want, res.Matches[i], "lead %d segment %s", n+1, segs[i].ID)
		}
		n++
	}
	t.Logf("%d leads x %d segments agree", n, len(segs))
}

func TestErrors(t *testing.T) {
	_, err := engine.New([]filter.Segment{
		{ID: "ok", Filters: []filter.Filter{filter.Cond("a", "eq", 1)}},
		{ID: "bad", Filters: []filter.Filter{filter.Cond("a", "nope", 1)}},
	})
	var ce *segmatch.CompileError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "/1/filters/0/operator", ce.Path)
	assert.ErrorIs(t, err, segmatch.ErrUnknownOperator)

	eng, err := engine.New([]filter.Segment{{Name: "all"}})
	require.NoError(t, err)
	_, err = eng.ClassifyJSON([]byte(`{"a":`))
	assert.ErrorIs(t, err, segmatch.ErrMalformedContact)
	_, err = eng.ClassifyJSON([]byte(`[1]`))
	assert.ErrorIs(t, err, segmatch.ErrNotObject)
	ids, err := eng.ClassifyJSON([]byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"all"}, ids, "a segment without an id is known by its name")
}

func TestZeroAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("-race makes sync.Pool (regexp's state) drop items; .ci/run checks allocations without -race")
	}
	raw, err := os.ReadFile("../testdata/segments.json")
	require.NoError(t, err)
	var segs []filter.Segment
	require.NoError(t, json.Unmarshal(raw, &segs))
	var plain []filter.Segment
	for _, s := range segs {
		if !strings.Contains(string(mustJSON(s)), `"expr"`) { // expr decodes its environment
			plain = append(plain, s)
		}
	}
	eng, err := engine.New(plain, fixedNow())
	require.NoError(t, err)
	lead := []byte(`{"lead_id":"x","email":"Giulia@Example.it","tags":["vip","b"],"attributes":{"orders":"4","country":"IT"},"orders":[{"sku":"A","qty":2}]}`)
	res := eng.NewResult()
	allocs := testing.AllocsPerRun(200, func() {
		if err := eng.ClassifyJSONInto(lead, res); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	// The convenience calls allocate only the slice they return.
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() {
		if _, err := eng.ClassifyJSON(lead); err != nil {
			t.Fatal(err)
		}
	}), "ClassifyJSON")
	var m map[string]any
	require.NoError(t, json.Unmarshal(lead, &m))
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() { eng.ClassifyMapInto(m, res); eng.ClassifyMap(m) }), "ClassifyMap")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestStream: order, no loss, bad lines with their numbers, blank lines,
// too-long lines, progress.
func TestStream(t *testing.T) {
	eng, err := engine.New([]filter.Segment{
		{ID: "even", Filters: []filter.Filter{filter.Cond("n", "in", []int{0, 2, 4, 6, 8})}},
		{ID: "big", Filters: []filter.Filter{filter.Cond("n", "gte", 5)}},
	})
	require.NoError(t, err)
	var in bytes.Buffer
	const total = 10000
	for i := 1; i <= total; i++ {
		switch {
		case i%1000 == 0:
			in.WriteString("{not json\n")
		case i%777 == 0:
			in.WriteString("   \r\n")
		case i == 5001:
			in.WriteString(`{"n":1,"pad":"` + strings.Repeat("x", 2000) + "\"}\n")
		default:
			fmt.Fprintf(&in, "{\"i\":%d,\"n\":%d}\r\n", i, i%10)
		}
	}
	var got []int
	var bad []int
	var progressed atomic.Int64
	st, err := eng.ClassifyStream(context.Background(), &in, func(l *engine.Line) error {
		got = append(got, l.Number)
		if l.Err != nil {
			var le *engine.LineError
			require.ErrorAs(t, l.Err, &le)
			assert.Equal(t, l.Number, le.Line)
			bad = append(bad, l.Number)
			return nil
		}
		n := (l.Number) % 10
		assert.Equal(t, n%2 == 0, l.Result.Matches[0], "line %d", l.Number)
		assert.Equal(t, n >= 5, l.Result.Matches[1], "line %d", l.Number)
		return nil
	}, engine.StreamOptions{Workers: 4, BatchSize: 64, MaxLineBytes: 1000, Progress: func(lines, _ int64) { progressed.Store(lines) }})
	require.NoError(t, err)
	for i := 1; i < len(got); i++ {
		require.Less(t, got[i-1], got[i], "in order")
	}
	assert.Equal(t, int64(total), st.Lines)
	assert.Equal(t, st.Lines, st.Contacts+st.Bad+st.Blank, "every line accounted for")
	assert.Equal(t, int64(12), st.Blank)
	assert.Equal(t, 11, len(bad)) // 10 malformed + 1 too long
	assert.Contains(t, bad, 5001)
	assert.Equal(t, int64(total), progressed.Load())
}

func TestStreamCancelAndSinkError(t *testing.T) {
	eng, err := engine.New([]filter.Segment{{ID: "all"}})
	require.NoError(t, err)
	// an endless input: cancellation must end the stream
	r, w := ioPipe()
	go func() {
		for {
			if _, err := w.Write([]byte("{}\n")); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	_, err = eng.ClassifyStream(ctx, r, func(*engine.Line) error {
		seen++
		if seen == 5000 {
			cancel()
		}
		return nil
	}, engine.StreamOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	w.Close()

	stop := errors.New("stop")
	_, err = eng.ClassifyStream(context.Background(), strings.NewReader(strings.Repeat("{}\n", 3000)),
		func(l *engine.Line) error {
			if l.Number == 1234 {
				return stop
			}
			return nil
		}, engine.StreamOptions{})
	assert.ErrorIs(t, err, stop)
}

// TestStreamReadError: a failing reader ends the stream with its error,
// naming the line it cut short; every whole line before it is delivered.
func TestStreamReadError(t *testing.T) {
	eng, err := engine.New([]filter.Segment{{ID: "all"}})
	require.NoError(t, err)
	boom := errors.New("disk on fire")
	whole := strings.Repeat("{}\n", 1000)
	in := io.MultiReader(strings.NewReader(whole+`{"cut":`), iotest.ErrReader(boom))
	var numbers []int
	st, err := eng.ClassifyStream(context.Background(), in, func(l *engine.Line) error {
		require.NoError(t, l.Err)
		numbers = append(numbers, l.Number)
		return nil
	}, engine.StreamOptions{Workers: 2, BatchSize: 64})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "reading line 1001")
	assert.Equal(t, int64(1000), st.Contacts)
	require.Len(t, numbers, 1000)
	assert.Equal(t, 1000, numbers[999])
}

// TestLiveSwap: classifications run while the segment set is swapped;
// every answer comes from one whole engine, old or new.
func TestLiveSwap(t *testing.T) {
	mk := func(v int) *engine.Engine {
		e, err := engine.New([]filter.Segment{
			{ID: "a", Filters: []filter.Filter{filter.Cond("v", "eq", v)}},
			{ID: "b", Filters: []filter.Filter{filter.Cond("v", "eq", v)}},
		})
		require.NoError(t, err)
		return e
	}
	live := engine.NewLive(mk(0))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				e := live.Load()
				ids, err := e.ClassifyJSON([]byte(`{"v":1}`))
				if err != nil || (len(ids) != 0 && len(ids) != 2) {
					t.Errorf("torn result %v %v", ids, err)
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		live.Swap(mk(i % 2))
	}
	close(stop)
	wg.Wait()
}

func TestStreamOptionsBound(t *testing.T) {
	eng, err := engine.New([]filter.Segment{{ID: "a", Filters: []filter.Filter{filter.Cond("x", "eq", 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []engine.StreamOptions{{Workers: 100_000_000}, {Workers: engine.MaxWorkers + 1}, {BatchSize: engine.MaxBatchSize + 1}} {
		if _, err := eng.ClassifyStream(context.Background(), strings.NewReader("{}\n"), func(*engine.Line) error { return nil }, o); !errors.Is(err, engine.ErrBadOptions) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestWideSegments: flat segments of every width from 0 to 20 conditions
// (the combining loops lay them out by width), all and any, negations
// included, equal Program.MatchJSON of each.
func TestWideSegments(t *testing.T) {
	g := randgen.New(11)
	var pool []filter.Filter
	for len(pool) < 400 {
		for _, f := range g.Segment().Filters {
			if !f.IsGroup() {
				pool = append(pool, f)
			}
		}
	}
	var segs []filter.Segment
	for i := range 120 {
		s := filter.Segment{ID: fmt.Sprint(i), Match: filter.All}
		if i%2 == 1 {
			s.Match = filter.Any
		}
		for j := range i % 21 {
			f := pool[(i*7+j*13)%len(pool)]
			f.Negate = (i+j)%3 == 0
			s.Filters = append(s.Filters, f)
		}
		segs = append(segs, s)
	}
	eng, progs := engineAndPrograms(t, segs)
	res := eng.NewResult()
	for range 300 {
		c, err := json.Marshal(g.Contact())
		require.NoError(t, err)
		require.NoError(t, eng.ClassifyJSONInto(c, res))
		for i, s := range segs {
			want, err := progs[i].MatchJSON(c)
			require.NoError(t, err)
			require.Equal(t, want, res.Matches[i], "segment %d (%d conditions, %s) on %s", i, len(s.Filters), s.Match, c)
		}
	}
}

// engineAndPrograms builds the engine of segs and, to check it against,
// one Program per segment.
func engineAndPrograms(t *testing.T, segs []filter.Segment) (*engine.Engine, []*segmatch.Program) {
	t.Helper()
	eng, err := engine.New(segs, fixedNow())
	require.NoError(t, err)
	progs := make([]*segmatch.Program, len(segs))
	for i, s := range segs {
		progs[i], err = segmatch.Compile(s, fixedNow())
		require.NoError(t, err)
	}
	return eng, progs
}
