package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/segmatch/segmatch/leads"
	"github.com/segmatch/segmatch/worker"
)

// openRelay connects serve to the workers past one machine (serve --nats):
// lead writes go to the contacts stream on the NATS servers at natsURL,
// lead reads, counts and members come from the membership tables in the
// PostgreSQL at dsn. close releases both connections.
func openRelay(ctx context.Context, natsURL, stream, dsn string, lim leads.Limits) (_ *leads.Relay, close func(), err error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("--pg: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// requests read leads and counts at once, beside the previews
		// (worker.DefaultMaxPreviews of them)
		pcfg.MaxConns = max(pcfg.MaxConns, 16)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--pg: %w", err)
	}
	// No reconnect buffer: while NATS is away a write fails at once (503)
	// instead of waiting, and a write answered 503 is not sent later.
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(-1), nats.Name("segmatch serve"))
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("--nats: %w", err)
	}
	close = func() { nc.Close(); pool.Close() }
	js, err := jetstream.New(nc)
	if err == nil {
		var a *worker.Audience
		if a, err = worker.NewAudience(ctx, js, pool, stream); err == nil {
			// a lead is one message, one contact line to the workers
			lim = lim.Resolved()
			lim.MaxLeadBytes = min(lim.MaxLeadBytes, a.MaxLeadBytes())
			return leads.NewRelay(a, lim), close, nil
		}
	}
	close()
	return nil, nil, err
}
