package bolt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/bolt"
	"github.com/segmatch/segmatch/store/storetest"
)

// crashEnv, when set, makes TestCrash the child: it writes to the store in
// that directory until it is killed.
const crashEnv = "SEGMATCH_BOLT_CRASH_DIR"

const crashWriters = 4

// TestCrash kills a process in the middle of writing and checks that the
// file reopens cleanly with every acknowledged write intact. The child
// (this test binary, re-executed) runs crashWriters goroutines that create,
// update and delete their own segments and append an fsync'd line to a
// side file after each acknowledged write, beside one goroutine writing
// batches of leads (store.LeadStore) acknowledged the same way; the
// parent sends SIGKILL at a random moment.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	const trials = 10
	passed := 0
	var acks int
	for i := 0; i < trials; i++ {
		n, ok := crashTrial(t, i)
		acks += n
		if ok {
			passed++
		}
	}
	t.Logf("%d/%d crash trials passed (%d acknowledged writes checked, %d of them lead batches)", passed, trials, acks, leadAcksChecked)
	if passed != trials {
		t.Fail()
	}
}

// crashTrial runs one child, kills it, and checks the file.
func crashTrial(t *testing.T, trial int) (acks int, ok bool) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill at a random moment once the child is writing.
	ackPath := filepath.Join(dir, "acks")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(ackPath); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Errorf("trial %d: child wrote nothing in 10s: %s", trial, stderr.String())
			return 0, false
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	last, n, err := readAcks(ackPath)
	if err != nil {
		t.Errorf("trial %d: %v", trial, err)
		return n, false
	}
	if err := checkAfterCrash(t, filepath.Join(dir, "segments.db"), last); err != nil {
		t.Errorf("trial %d (%d acks): %v", trial, n, err)
		return n, false
	}
	ln, err := checkLeadsAfterCrash(filepath.Join(dir, "segments.db"), filepath.Join(dir, "leadacks"))
	if err != nil {
		t.Errorf("trial %d (%d lead acks): %v", trial, ln, err)
		return n + ln, false
	}
	return n + ln, true
}

// crashLeadIDs is how many leads the child's lead writer cycles through:
// the write of lead i%crashLeadIDs holds "n": i.
const crashLeadIDs = 50

// leadAcksChecked counts the lead batches checked, for the log.
var leadAcksChecked int

// checkLeadsAfterCrash checks that every acknowledged lead write (a line
// "n" of the side file: the batch of leads n-2, n-1 and n was written) is
// in the reopened file: each lead holds its last acknowledged n, or the
// one write after it that committed unacknowledged.
func checkLeadsAfterCrash(path, ackPath string) (int, error) {
	b, err := os.ReadFile(ackPath)
	if err != nil {
		return 0, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		b = b[:i+1] // a line without its newline was not acked
	}
	acked := map[string]int{}
	last, acks := -1, 0
	for _, line := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(line)
		if err != nil {
			return acks, fmt.Errorf("bad lead ack %q", line)
		}
		for k := n - 2; k <= n; k++ {
			acked[fmt.Sprintf("lead-%d", k%crashLeadIDs)] = k
		}
		last, acks = n, acks+1
	}
	s, err := bolt.Open(path, bolt.WithLockTimeout(5*time.Second))
	if err != nil {
		return acks, fmt.Errorf("reopen: %w", err)
	}
	defer s.Close()
	stored := map[string]int{}
	err = s.ForEachLead(context.Background(), storetest.ProjectA, func(id string, raw []byte) error {
		var doc struct {
			ID string `json:"_id"`
			N  int    `json:"n"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.ID != id {
			return fmt.Errorf("lead %s: %q does not read back (%v)", id, raw, err)
		}
		stored[id] = doc.N
		return nil
	})
	if err != nil {
		return acks, err
	}
	for id, n := range acked {
		got, ok := stored[id]
		switch {
		case !ok:
			return acks, fmt.Errorf("acknowledged lead %s (n=%d) is missing", id, n)
		case got < n:
			return acks, fmt.Errorf("lead %s: n=%d, acknowledged n=%d", id, got, n)
		case got > n && got > last+3:
			return acks, fmt.Errorf("lead %s: n=%d, beyond the one batch after the last ack (%d)", id, got, last)
		}
	}
	if err := s.PutLeads(context.Background(), storetest.ProjectA, []store.Lead{{ID: "after-crash", Raw: []byte(`{}`)}}); err != nil {
		return acks, fmt.Errorf("lead write after reopen: %w", err)
	}
	leadAcksChecked += acks
	return acks, nil
}

// ackLine is one acknowledged write: "op id version updatedAt name".
type ackLine struct {
	op        string // C, U or D
	id        string
	version   uint64
	updatedAt time.Time
	name      string
}

// readAcks returns the last acknowledgement of each segment. A last line
// without its newline was being written when the child died: not acked.
func readAcks(path string) (map[string]ackLine, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		b = b[:i+1]
	}
	last := map[string]ackLine{}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 {
			return nil, n, fmt.Errorf("bad ack line %q", sc.Text())
		}
		v, err1 := strconv.ParseUint(f[2], 10, 64)
		ts, err2 := time.Parse(time.RFC3339Nano, f[3])
		if err1 != nil || err2 != nil {
			return nil, n, fmt.Errorf("bad ack line %q", sc.Text())
		}
		last[f[1]] = ackLine{op: f[0], id: f[1], version: v, updatedAt: ts, name: f[4]}
		n++
	}
	return last, n, sc.Err()
}

// checkAfterCrash opens the file, checks its consistency and that every
// acknowledged write is there: each segment holds its last acknowledged
// state, or the one write after it that committed but was not yet acked.
func checkAfterCrash(t *testing.T, path string, last map[string]ackLine) error {
	s, err := bolt.Open(path, bolt.WithLockTimeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer s.Close()
	type record struct {
		Version uint64         `json:"version"`
		Segment filter.Segment `json:"segment"`
	}
	stored := map[string]record{}
	err = s.DB().View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("consistency check: %w", err)
		}
		b := tx.Bucket([]byte("segments")).Bucket([]byte(storetest.ProjectA))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("record %s: %w", k, err)
			}
			stored[string(k)] = r
			return nil
		})
	})
	if err != nil {
		return err
	}
	for id, a := range last {
		r, ok := stored[id]
		switch {
		case !ok:
			return fmt.Errorf("acknowledged segment %s (%s v%d) is missing", id, a.op, a.version)
		case r.Version < a.version:
			return fmt.Errorf("segment %s: version %d, acknowledged %d", id, r.Version, a.version)
		case r.Version > a.version+1:
			return fmt.Errorf("segment %s: version %d, acknowledged %d: too many unacknowledged writes", id, r.Version, a.version)
		case r.Version == a.version:
			wantStatus := filter.StatusActive
			if a.op == "D" {
				wantStatus = filter.StatusDeleted
			}
			if !r.Segment.UpdatedAt.Equal(a.updatedAt) || r.Segment.Name != a.name || r.Segment.Status != wantStatus {
				return fmt.Errorf("segment %s v%d: stored %q@%v status %d, acknowledged %s %q@%v",
					id, a.version, r.Segment.Name, r.Segment.UpdatedAt, r.Segment.Status, a.op, a.name, a.updatedAt)
			}
		}
	}
	// The store keeps working: a new write and a full read.
	if _, err := s.Create(context.Background(), storetest.ProjectA, storetest.UserA, storetest.Seg("after-crash", filter.All)); err != nil {
		return fmt.Errorf("write after reopen: %w", err)
	}
	if _, _, err := s.List(context.Background(), storetest.ProjectA, store.ListOptions{Limit: store.MaxLimit}); err != nil {
		return fmt.Errorf("list after reopen: %w", err)
	}
	return nil
}

// crashChild writes until killed (or for 30s, should the parent be gone).
func crashChild(t *testing.T, dir string) {
	s, err := bolt.Open(filepath.Join(dir, "segments.db"))
	if err != nil {
		t.Fatal(err)
	}
	acks, err := os.OpenFile(filepath.Join(dir, "acks"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ack := func(op string, seg filter.Segment, version uint64) {
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf("%s %s %d %s %s\n", op, seg.ID, version, seg.UpdatedAt.Format(time.RFC3339Nano), seg.Name)
		if _, err := acks.WriteString(line); err != nil {
			panic(err)
		}
		if err := acks.Sync(); err != nil {
			panic(err)
		}
	}
	ctx := context.Background()
	stop := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	// One lead writer beside the segment writers: batches of three
	// leads, each batch acknowledged by its last n on a side file of its
	// own.
	leadAcks, err := os.OpenFile(filepath.Join(dir, "leadacks"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 2; time.Now().Before(stop); n += 3 {
			var batch []store.Lead
			for k := n - 2; k <= n; k++ {
				id := fmt.Sprintf("lead-%d", k%crashLeadIDs)
				batch = append(batch, store.Lead{ID: id, Raw: fmt.Appendf(nil, `{"_id":%q,"n":%d,"pad":%q}`, id, k, strings.Repeat("x", k%300))})
			}
			if err := s.PutLeads(ctx, storetest.ProjectA, batch); err != nil {
				panic(err)
			}
			if _, err := fmt.Fprintf(leadAcks, "%d\n", n); err != nil {
				panic(err)
			}
			if err := leadAcks.Sync(); err != nil {
				panic(err)
			}
		}
	}()
	for w := 0; w < crashWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type mine struct {
				seg     filter.Segment
				version uint64
			}
			var segs []*mine
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := 0; time.Now().Before(stop); i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				switch r := rng.IntN(10); {
				case r < 3 || len(segs) == 0:
					fs := []filter.Filter{filter.Cond("n", ">=", i), filter.Cond("tags", "contains", name)}
					seg, err := s.Create(ctx, storetest.ProjectA, storetest.UserA, storetest.Seg(name, filter.Any, fs...))
					if err != nil {
						panic(err)
					}
					segs = append(segs, &mine{seg, 1})
					ack("C", seg, 1)
				case r < 9:
					m := segs[rng.IntN(len(segs))]
					seg, err := s.Update(ctx, storetest.ProjectA, m.seg.ID, store.SegmentUpdate{Name: &name, IfUpdatedAt: m.seg.UpdatedAt})
					if err != nil {
						panic(err)
					}
					m.seg = seg
					m.version++
					ack("U", seg, m.version)
				default:
					k := rng.IntN(len(segs))
					m := segs[k]
					seg, err := s.Delete(ctx, storetest.ProjectA, m.seg.ID)
					if err != nil {
						panic(err)
					}
					ack("D", seg, m.version+1)
					segs = append(segs[:k], segs[k+1:]...)
				}
			}
		}()
	}
	wg.Wait()
	_ = s.Close()
}
