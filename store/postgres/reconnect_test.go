package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"

	"github.com/jackc/pgx/v5"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/postgres"
)

func seg(name string) filter.Segment {
	return filter.Segment{Name: name, Filters: []filter.Filter{filter.Cond("country", "=", "IT")}}
}

// next receives one event, failing after d.
func next(t *testing.T, ch <-chan store.Event, d time.Duration) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the Watch channel was closed")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return store.Event{}
}

// untilResync receives events until an EventResync; it returns the names
// of the segments created before it.
func untilResync(t *testing.T, ch <-chan store.Event, d time.Duration) []string {
	t.Helper()
	var names []string
	deadline := time.Now().Add(d)
	for {
		ev := next(t, ch, time.Until(deadline))
		if ev.Type == store.EventResync {
			return names
		}
		names = append(names, ev.Segment.Name)
	}
}

// listNames is the names of a project's segments, sorted.
func listNames(t *testing.T, s store.Store, project string) []string {
	t.Helper()
	segs, _, err := s.List(t.Context(), project, store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sg := range segs {
		names = append(names, sg.Name)
	}
	sort.Strings(names)
	return names
}

// createRetrying creates a segment, retrying while the server is coming
// back (a pooled connection that died fails once).
func createRetrying(t *testing.T, s store.Store, project, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Create(t.Context(), project, "test", seg(name))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create %s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkRecovered: after the resync, the channel carries the events of
// later writes, and a new Watch works. An outage write may follow the
// resync (it committed after the listener was back: then it is heard).
func checkRecovered(t *testing.T, a, writer store.Store, ch <-chan store.Event, project string) {
	t.Helper()
	createRetrying(t, writer, project, "after")
	for {
		ev := next(t, ch, 10*time.Second)
		if ev.Type == store.EventCreated && strings.HasPrefix(ev.Segment.Name, "outage") {
			continue
		}
		if ev.Type == store.EventResync {
			// another reconnection (a busy server can fail the first
			// listener's ping): the watcher re-reads, and the list must
			// hold the write then
			if slices.Contains(listNames(t, a, project), "after") {
				break
			}
			continue
		}
		if ev.Type != store.EventCreated || ev.Segment.Name != "after" {
			t.Fatalf("after the resync: %v %q, want created \"after\"", ev.Type, ev.Segment.Name)
		}
		break
	}
	ch2, err := a.Watch(t.Context(), project)
	if err != nil {
		t.Fatalf("Watch after the reconnection: %v", err)
	}
	createRetrying(t, writer, project, "after2")
	for _, c := range []<-chan store.Event{ch, ch2} {
		if ev := next(t, c, 10*time.Second); ev.Type != store.EventCreated || ev.Segment.Name != "after2" {
			t.Fatalf("second write after the resync: %v %q", ev.Type, ev.Segment.Name)
		}
	}
}

// TestListenerSurvivesTerminate: the listener's backend is terminated;
// writes are made (by another instance) while it is away; its watcher
// gets an EventResync once it listens again, after which List holds those
// writes and the channel carries the following ones.
func TestListenerSurvivesTerminate(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	ctx := t.Context()
	// A first delay of at least 250ms: the writes below land while it waits.
	a := open(t, dsn, postgres.WithReconnectBackoff(500*time.Millisecond, time.Second))
	b := open(t, dsn)
	ch, err := a.Watch(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	createRetrying(t, a, "p1", "before")
	if ev := next(t, ch, 10*time.Second); ev.Type != store.EventCreated || ev.Segment.Name != "before" {
		t.Fatalf("got %v %q", ev.Type, ev.Segment.Name)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	pid := postgres.ListenerPID(a)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", int64(pid)); err != nil {
		t.Fatal(err)
	}
	// Wait until the backend is gone, then write while a does not listen.
	for i := 0; ; i++ {
		var n int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", int64(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if i > 200 {
			t.Fatal("the listener's backend does not go away")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 3 {
		createRetrying(t, b, "p1", "outage"+strconv.Itoa(i))
	}
	heard := untilResync(t, ch, 20*time.Second)
	if postgres.Reconnects(a) != 1 || postgres.ListenerPID(a) == pid {
		t.Fatalf("reconnects %d, pid %d (was %d)", postgres.Reconnects(a), postgres.ListenerPID(a), pid)
	}
	t.Logf("heard before the resync: %q", heard)
	if got, want := listNames(t, a, "p1"), []string{"before", "outage0", "outage1", "outage2"}; !slices.Equal(got, want) {
		t.Fatalf("List after the resync: %q, want %q", got, want)
	}
	checkRecovered(t, a, b, ch, "p1")
}

// cluster is a throwaway PostgreSQL server that a test may stop and start.
type cluster struct {
	t          *testing.T
	bin, dir   string
	port       int
	as         []string // run as the postgres user (when root)
	dsn        string
	serverOpts string
}

// newCluster initdb's and starts a server of its own (as .ci/pg does), so
// that restarting it disturbs no other test; it skips when the PostgreSQL
// binaries are not there.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("SEGMATCH_PG_DSN") == "" {
		t.Skip("SEGMATCH_PG_DSN is unset: run `source .ci/pg` first for the PostgreSQL tests")
	}
	bin := os.Getenv("SEGMATCH_PG_BIN")
	if bin == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		if len(dirs) == 0 {
			t.Skip("no PostgreSQL binaries")
		}
		bin = dirs[len(dirs)-1]
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Skipf("no initdb in %s", bin)
	}
	dir, err := os.MkdirTemp("", "segmatch-pg-restart-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		c.as = []string{"runuser", "-u", "postgres", "--"}
		if err := exec.Command("chown", "-R", "postgres", dir).Run(); err != nil {
			t.Skipf("chown to postgres: %v", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = c.pgctl("-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	})
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.serverOpts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off", c.port, dir)
	c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.start()
	return c
}

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	argv := append(append([]string{}, c.as...), append([]string{name}, args...)...)
	return exec.Command(argv[0], argv[1:]...).CombinedOutput()
}

func (c *cluster) pgctl(args ...string) error {
	out, err := c.run(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", filepath.Join(c.dir, "data")}, args...)...)
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w\n%s", args, err, out)
	}
	return nil
}

func (c *cluster) start() {
	c.t.Helper()
	if err := c.pgctl("-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", c.serverOpts, "start"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) stop() {
	c.t.Helper()
	if err := c.pgctl("-m", "fast", "-w", "stop"); err != nil {
		c.t.Fatal(err)
	}
}

// TestListenerSurvivesRestart: the server is stopped and started again
// mid-run. Watch channels stay open; writes fail while it is down; the
// writes made once it is back, before the listener is, are covered by the
// EventResync it sends once it listens again; then events flow again.
func TestListenerSurvivesRestart(t *testing.T) {
	c := newCluster(t)
	ctx := t.Context()
	a := open(t, c.dsn, postgres.WithReconnectBackoff(time.Second, 2*time.Second))
	b := open(t, c.dsn)
	postgres.SetWatchTimeout(a, 3*time.Second)
	ch, err := a.Watch(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	createRetrying(t, a, "p1", "before")
	if ev := next(t, ch, 10*time.Second); ev.Type != store.EventCreated || ev.Segment.Name != "before" {
		t.Fatalf("got %v %q", ev.Type, ev.Segment.Name)
	}
	pid := postgres.ListenerPID(a)

	c.stop()
	// While it is down: calls fail (they do not hang), channels stay open.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	if _, err := b.Create(cctx, "p1", "test", seg("down")); err == nil {
		t.Fatal("a write succeeded with the server down")
	}
	if _, err := a.Watch(cctx, "p2"); err == nil {
		t.Fatal("a Watch succeeded with the server down")
	}
	cancel()
	select {
	case ev, ok := <-ch:
		t.Fatalf("while down: event %v (open %v)", ev.Type, ok)
	default:
	}
	time.Sleep(500 * time.Millisecond)
	c.start()

	// The first writes after the restart (b's pool reconnects on demand)
	// come before a's listener, which waits for its backoff.
	for i := range 3 {
		createRetrying(t, b, "p1", "outage"+strconv.Itoa(i))
	}
	heard := untilResync(t, ch, 30*time.Second)
	t.Logf("heard before the resync: %q; reconnects %d", heard, postgres.Reconnects(a))
	if postgres.Reconnects(a) < 1 || postgres.ListenerPID(a) == pid {
		t.Fatalf("reconnects %d, pid %d (was %d)", postgres.Reconnects(a), postgres.ListenerPID(a), pid)
	}
	if got, want := listNames(t, a, "p1"), []string{"before", "outage0", "outage1", "outage2"}; !slices.Equal(got, want) {
		t.Fatalf("List after the resync: %q, want %q", got, want)
	}
	checkRecovered(t, a, b, ch, "p1")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("the channel is open after Close")
	}
}

// TestCloseWhileReconnecting: Close ends a listener that is waiting to
// reconnect, and closes the channels.
func TestCloseWhileReconnecting(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	ctx := t.Context()
	a := open(t, dsn, postgres.WithReconnectBackoff(time.Hour, time.Hour))
	ch, err := a.Watch(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", int64(postgres.ListenerPID(a))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- a.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs while the listener waits to reconnect")
	}
	if _, ok := <-ch; ok {
		t.Fatal("the channel is open after Close")
	}
	if _, err := a.Watch(ctx, "p1"); err != store.ErrClosed {
		t.Fatalf("Watch after Close: %v", err)
	}
}

// blackhole is a TCP proxy whose connections can be cut silently: their
// bytes are dropped from then on, and neither end hears of it (as when a
// network path dies without a reset).
type blackhole struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []*atomic.Bool // per connection, in accept order: cut
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackhole{l: l, target: target}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			cut := new(atomic.Bool)
			p.mu.Lock()
			p.conns = append(p.conns, cut)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if err != nil {
						return
					}
					if cut.Load() {
						continue
					}
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return p
}

// cut silences connection i (in accept order).
func (p *blackhole) cut(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[i].Store(true)
}

// TestListenerSurvivesSilentCut: the listener's connection goes silent
// (no reset, no error): after a quiet heartbeat its ping gets no answer,
// it reconnects, and its watcher gets the resync that covers the writes
// it missed, then the events again.
func TestListenerSurvivesSilentCut(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "store_test")
	ctx := t.Context()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newBlackhole(t, u.Host)
	u.Host = p.l.Addr().String()
	a := open(t, u.String(), postgres.WithHeartbeat(300*time.Millisecond), postgres.WithReconnectBackoff(50*time.Millisecond, 200*time.Millisecond))
	b := open(t, dsn)
	ch, err := a.Watch(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	createRetrying(t, b, "p1", "before")
	if ev := next(t, ch, 10*time.Second); ev.Type != store.EventCreated || ev.Segment.Name != "before" {
		t.Fatalf("got %v %q", ev.Type, ev.Segment.Name)
	}
	pid := postgres.ListenerPID(a)
	p.cut(0) // Open connects the listener first
	createRetrying(t, b, "p1", "outage0")
	heard := untilResync(t, ch, 20*time.Second)
	if postgres.Reconnects(a) != 1 || postgres.ListenerPID(a) == pid {
		t.Fatalf("reconnects %d, pid %d (was %d)", postgres.Reconnects(a), postgres.ListenerPID(a), pid)
	}
	if slices.Contains(heard, "outage0") {
		t.Fatalf("heard %q through a silent connection", heard)
	}
	if got, want := listNames(t, a, "p1"), []string{"before", "outage0"}; !slices.Equal(got, want) {
		t.Fatalf("List after the resync: %q, want %q", got, want)
	}
	checkRecovered(t, a, b, ch, "p1")
}
