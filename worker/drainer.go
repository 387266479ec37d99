package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// outboxLockKey elects the one drainer of the outbox (a session-level
// advisory lock on hashtext of it, as the worker's other locks: released
// when the leader's connection ends).
const outboxLockKey = "segmatch_worker_outbox"

// Drainer publishes the outbox's events to JetStream in the order they
// were written, one process at a time. A transaction writes its outbox
// row after it has locked its contacts' rows (Apply, Recompute), so the
// rows of one contact are numbered in the order of its changes: sending
// rows in id order from a single publisher puts every contact's events
// for a segment on the stream in the order of its versions and segment
// revisions. The leader holds a PostgreSQL advisory lock on a connection
// of its own; when it stops or its connection drops, another worker's
// drainer takes over within Standby.
//
// Order holds while JetStream acknowledges; an event not acknowledged
// (a NATS outage) is sent again with the ones after it, and JetStream
// keeps the first copy of each, so across an outage a consumer orders a
// contact's events by their version and revision.
type Drainer struct {
	Pool *pgxpool.Pool
	JS   jetstream.JetStream
	Log  *slog.Logger
	// Poll is how often the leader looks for new rows (default 20ms);
	// Standby how often the others try to lead (default 1s).
	Poll, Standby time.Duration
	// Published is called with the events JetStream acknowledged.
	Published func(n int)
}

// drained is the emit of a worker's recomputes: their events are in the
// outbox, the Drainer's to publish.
func drained([]Outboxed) {}

// Run drains until ctx is done.
func (d *Drainer) Run(ctx context.Context) {
	poll, standby := d.Poll, d.Standby
	if poll <= 0 {
		poll = 20 * time.Millisecond
	}
	if standby <= 0 {
		standby = time.Second
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for ctx.Err() == nil {
		led, err := d.lead(ctx, poll)
		if err != nil && ctx.Err() == nil {
			log.Warn("worker: draining the outbox", "err", err)
		}
		if !led || err != nil {
			sleep(ctx, standby)
		}
	}
}

// lead takes the drainer's lock and drains while it holds it; led says
// whether it got the lock.
func (d *Drainer) lead(ctx context.Context, poll time.Duration) (led bool, err error) {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", outboxLockKey).Scan(&led); err != nil || !led {
		return false, err
	}
	defer func() {
		// a connection whose unlock failed is closed: the lock goes with it
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock(hashtext($1))", outboxLockKey); uerr != nil {
			_ = conn.Conn().Close(uctx)
		}
	}()
	for ctx.Err() == nil {
		rows, err := conn.Query(ctx, "SELECT id, events FROM segmatch_outbox ORDER BY id LIMIT 256")
		if err != nil {
			return true, err
		}
		var evs []Outboxed
		for rows.Next() {
			var id int64
			var data []byte
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return true, err
			}
			got, err := decodeOutbox(id, data)
			if err != nil {
				rows.Close()
				return true, err // left in place: the order forbids skipping it
			}
			evs = append(evs, got...)
		}
		if err := rows.Err(); err != nil {
			return true, err
		}
		if len(evs) == 0 {
			sleep(ctx, poll)
			continue
		}
		done, n, perr := d.send(ctx, evs)
		if d.Published != nil && n > 0 {
			d.Published(n)
		}
		if len(done) > 0 {
			if _, err := conn.Exec(ctx, "DELETE FROM segmatch_outbox WHERE id = ANY($1)", done); err != nil {
				return true, err
			}
		}
		if perr != nil {
			return true, perr
		}
	}
	return true, nil
}

// send publishes evs in order and returns the outbox rows whose events
// were all acknowledged before the first that was not (those after it
// are sent again next time, to keep the order), and how many events were
// acknowledged.
func (d *Drainer) send(ctx context.Context, evs []Outboxed) (done []int64, acked int, err error) {
	futs := make([]jetstream.PubAckFuture, 0, len(evs))
	for _, e := range evs {
		f, err := d.JS.PublishMsgAsync(&nats.Msg{Subject: e.Subject, Data: e.Payload}, jetstream.WithMsgID(e.MsgID))
		if err != nil {
			break
		}
		futs = append(futs, f)
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	i := 0
wait:
	for ; i < len(futs); i++ {
		select {
		case <-futs[i].Ok():
		case perr := <-futs[i].Err():
			err = fmt.Errorf("event %s not acknowledged: %w", evs[i].MsgID, perr)
			break wait
		case <-timeout.C:
			err = errors.New("events not acknowledged within 10s")
			break wait
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		}
	}
	if err == nil && i < len(evs) {
		err = errors.New("events not all sent (NATS unavailable)")
	}
	// the rows whose last event is within the acknowledged prefix (a
	// row's events are contiguous)
	for j := 0; j < i; j++ {
		if j+1 == len(evs) || evs[j+1].ID != evs[j].ID {
			done = append(done, evs[j].ID)
		}
	}
	return done, i, err
}
