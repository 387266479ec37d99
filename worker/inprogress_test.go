package worker_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/worker"
)

// TestSlowBatchInProgress: a batch whose membership transaction takes
// four times the consumer's AckWait is kept in progress, so none of its
// messages is redelivered meanwhile (the test pulls from the same
// durable consumer while the batch is held) or after.
func TestSlowBatchInProgress(t *testing.T) {
	r := newRig(t, filter.Segment{Name: "it", Filters: []filter.Filter{filter.Cond("country", "=", "IT")}})
	ctx := t.Context()
	const n, ackWait = 30, 800 * time.Millisecond
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf(`{"_id":"c%02d","_version":1,"country":"IT"}`, i))
	}
	r.publish(docs...) // before the worker starts: one batch takes them all
	w := r.worker(worker.Options{AckWait: ackWait})
	held := make(chan struct{})
	var calls atomic.Int32
	worker.SetApplyHook(w, func() {
		if calls.Add(1) == 1 {
			close(held)
			time.Sleep(4 * ackWait)
		}
	})
	stop := run(t, w)
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the batch never reached its membership transaction")
	}
	// While the batch is held, the consumer must not hand any of its
	// messages to another puller.
	cons, err := r.js.Consumer(ctx, "CONTACTS", worker.DefaultDurable)
	require.NoError(t, err)
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(3*ackWait))
	require.NoError(t, err)
	for m := range batch.Messages() {
		t.Errorf("redelivered while in progress: %s", m.Data())
	}
	require.Eventually(t, func() bool { return r.members("it") == n }, 20*time.Second, 20*time.Millisecond)
	time.Sleep(2 * ackWait) // time for a late redelivery to show
	stop()
	st := w.Stats()
	require.Equal(t, int64(n), st.Messages)
	require.Equal(t, int64(n), st.Applied)
	require.Zero(t, st.Redelivered)
	require.Zero(t, st.Stale)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	require.Zero(t, info.NumRedelivered)
	require.Zero(t, info.NumAckPending)
}
