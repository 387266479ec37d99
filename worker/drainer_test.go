package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"
)

// TestDrainerOrder: two drainers (two workers) share the outbox; one
// leads at a time, and when it stops the other takes over. Every event
// reaches the stream once, in the order the rows were written, so each
// contact's events come in the order of its versions.
func TestDrainerOrder(t *testing.T) {
	dsn := pgtest.SchemaDSN(t, "worker_outbox")
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, Install(ctx, pool))

	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(20*time.Second))
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, EnsureStream(ctx, js, EventStreamConfig(DefaultEventsStream)))

	// rows: contact c<i%5> at version i, entering at even i, leaving at odd
	const rows = 400
	write := func(from, to int) {
		for i := from; i < to; i++ {
			evs := []Event{{Project: "p", Contact: fmt.Sprintf("c%d", i%5), Segment: "s", Entered: i%2 == 0, Version: int64(i), Revision: 1},
				{Project: "p", Contact: fmt.Sprintf("c%d", i%5), Segment: "t", Entered: i%2 == 0, Version: int64(i), Revision: 1}}
			b, _ := json.Marshal(evs)
			_, err := pool.Exec(ctx, "INSERT INTO segmatch_outbox (events) VALUES ($1)", b)
			require.NoError(t, err)
		}
	}
	var mu sync.Mutex
	published := 0
	count := func(n int) { mu.Lock(); published += n; mu.Unlock() }
	ctx1, stop1 := context.WithCancel(ctx)
	ctx2, stop2 := context.WithCancel(ctx)
	defer stop2()
	var wg sync.WaitGroup
	drain := func(c context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&Drainer{Pool: pool, JS: js, Standby: 50 * time.Millisecond, Published: count}).Run(c)
		}()
	}
	empty := func() bool {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM segmatch_outbox").Scan(&n)
		return n == 0
	}
	drain(ctx1) // alone: it leads
	write(0, rows/2)
	require.Eventually(t, empty, 10*time.Second, 10*time.Millisecond)
	drain(ctx2) // stands by
	time.Sleep(100 * time.Millisecond)
	write(rows/2, rows/2+50)
	stop1() // the leader stops, maybe mid-batch; the other takes over
	write(rows/2+50, rows)
	cons, err := js.OrderedConsumer(ctx, DefaultEventsStream, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	last := map[string]int64{}
	got := 0
	deadline := time.Now().Add(30 * time.Second)
	for got < 2*rows && time.Now().Before(deadline) {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			var e Event
			require.NoError(t, json.Unmarshal(m.Data(), &e))
			key := e.Contact + "/" + e.Segment
			if v, ok := last[key]; ok {
				assert.Greater(t, e.Version, v, "%s: version %d after %d", key, e.Version, v)
			}
			last[key] = e.Version
			got++
		}
	}
	assert.Equal(t, 2*rows, got, "every event once")
	require.Eventually(t, empty, 10*time.Second, 20*time.Millisecond, "the outbox drains")
	stop2()
	wg.Wait()
	mu.Lock()
	assert.GreaterOrEqual(t, published, 2*rows)
	mu.Unlock()
}
