package main

import (
	"context"
	"fmt"
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
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("--pg: %w", err)
	}
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), nats.Name("segmatch serve"))
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("--nats: %w", err)
	}
	close = func() { nc.Close(); pool.Close() }
	js, err := jetstream.New(nc)
	if err == nil {
		var a *worker.Audience
		if a, err = worker.NewAudience(ctx, js, pool, stream); err == nil {
			return leads.NewRelay(a, lim), close, nil
		}
	}
	close()
	return nil, nil, err
}
