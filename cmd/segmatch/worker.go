package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/segmatch/segmatch/store/postgres"
	"github.com/segmatch/segmatch/worker"
)

const workerUsage = `Usage: segmatch worker --nats URL --stream NAME --pg DSN [--project P[,P...]]

Classify contact changes continuously: consume the durable pull consumer
--durable (shared by every worker: each message goes to one of them) on
the JetStream stream NAME (subjects segmatch.contacts.<project>; created
when missing, work-queue retention), classify each contact with the
project's segments (read from the PostgreSQL store at --pg and kept
current from its change feed; without --project, every project, each
followed from its first message), write its membership to PostgreSQL
(segmatch_members, order-proof by the contact's version), ack, and publish
enter/exit events to segmatch.events.<project> (stream SEGMATCH_EVENTS).
A message is one contact object or JSON Lines; each contact needs an id
(_id, lead_id or id) and an integer version (--version-field); "_deleted":
true deletes it. A bad line goes to segmatch.dead.<project> (stream
SEGMATCH_DEAD) with the reason, and the rest of the batch goes on.
Membership in segments with relative dates (within_last, not_within_last,
within_next) is re-evaluated every --refresh over the stored contacts, as
time passes (one worker per segment and period, coordinated in
PostgreSQL), with enter/exit events like any change.
SIGINT/SIGTERM: finish the batch, print the counts (JSON) on stderr, exit 0:
messages, redelivered, contacts, applied, stale, dead, events, batches,
retries, recomputed, and refreshes, refresh_contacts, refresh_events.

Flags:
`

func workerCmd(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats", nats.DefaultURL, "NATS server `URL`s (comma-separated)")
	stream := fs.String("stream", "SEGMATCH_CONTACTS", "the contacts stream `NAME`")
	dsn := fs.String("pg", "", "PostgreSQL `DSN`: the segment store and the membership tables (required)")
	projects := fs.String("project", "", "the `PROJECT_ID`s to consume, comma-separated (default: every project)")
	durable := fs.String("durable", worker.DefaultDurable, "the shared durable consumer's `NAME`")
	batch := fs.Int("batch", 256, "messages fetched at once")
	ackWait := fs.Duration("ack-wait", 30*time.Second, "how long a fetched message may stay unacked before it is redelivered (a batch in flight is kept in progress every third of it)")
	refresh := fs.Duration("refresh", worker.DefaultRefresh, "how often segments with relative dates (within_last, ...) are re-evaluated over the stored contacts, by one worker at a time (0: never)")
	versionField := fs.String("version-field", worker.DefaultVersionField, "the contact's integer version `FIELD`")
	verbose := fs.Bool("v", false, "log every segment change and recompute")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `FILE` (until exit)")
	fs.Usage = func() { fmt.Fprint(stderr, workerUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *refresh > 0 && *refresh < minRefresh {
		fmt.Fprintf(stderr, "segmatch worker: --refresh %v: at least %v (the events stream's duplicate window: a transition time alone repeats sooner would be dropped as a duplicate), or 0\n", *refresh, minRefresh)
		return exitUsage
	}
	if *dsn == "" || fs.NArg() > 0 || *refresh < 0 {
		fs.Usage()
		return exitUsage
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fail := func(err error) int {
		fmt.Fprintf(stderr, "segmatch worker: %v\n", err)
		return exitFailure
	}
	st, err := postgres.Open(ctx, *dsn)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	nc, err := nats.Connect(*natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), nats.Name("segmatch worker"))
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	var only []string
	if *projects != "" {
		only = strings.Split(*projects, ",")
	}
	w, err := worker.New(ctx, nc, pool, st, worker.Options{Stream: *stream, Projects: only,
		Durable: *durable, Batch: *batch, AckWait: *ackWait, VersionField: *versionField, Log: log,
		Refresh: refreshOption(*refresh)})
	if err != nil {
		if ctx.Err() != nil {
			return exitOK
		}
		return fail(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintln(stdout, "worker ready")
	if err := w.Run(ctx); err != nil {
		return fail(err)
	}
	b, _ := json.Marshal(w.Stats())
	fmt.Fprintf(stderr, "%s\n", b)
	return exitOK
}

const publishUsage = `Usage: segmatch publish --nats URL --stream NAME --project P [CONTACTS.jsonl|-]

Publish contact changes (JSON Lines, one contact a line) to the stream NAME
on segmatch.contacts.<P>, one message a contact, each with a Nats-Msg-Id of
project, contact id and version: publishing the same file again is
harmless (JetStream drops the duplicates within its 2-minute window; past
it the workers find the versions stale). A line without an id or an
integer version stops the run (exit 1) after the lines before it.

Flags:
`

func publishCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats", nats.DefaultURL, "NATS server `URL`s (comma-separated)")
	stream := fs.String("stream", "SEGMATCH_CONTACTS", "the contacts stream `NAME`")
	project := fs.String("project", "", "the `PROJECT_ID` (required)")
	versionField := fs.String("version-field", worker.DefaultVersionField, "the contact's integer version `FIELD`")
	fs.Usage = func() { fmt.Fprint(stderr, publishUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *project == "" || fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	in := stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "segmatch publish: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		in = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := nats.Connect(*natsURL, nats.Name("segmatch publish"))
	if err != nil {
		fmt.Fprintf(stderr, "segmatch publish: %v\n", err)
		return exitFailure
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		fmt.Fprintf(stderr, "segmatch publish: %v\n", err)
		return exitFailure
	}
	p, err := worker.NewPublisher(ctx, js, *stream)
	if err != nil {
		fmt.Fprintf(stderr, "segmatch publish: %v\n", err)
		return exitFailure
	}
	p.VersionField = *versionField
	start := time.Now()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), worker.MaxContactBytes+1)
	line := 0
	code := exitOK
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if err := p.Publish(*project, append([]byte(nil), b...)); err != nil {
			var ce *worker.ContactError
			if errors.As(err, &ce) {
				err = errors.New(ce.Reason)
			}
			fmt.Fprintf(stderr, "segmatch publish: line %d: %v\n", line, err)
			code = exitFailure
			break
		}
	}
	if err := sc.Err(); err != nil && code == exitOK {
		fmt.Fprintf(stderr, "segmatch publish: line %d: %v\n", line+1, err)
		code = exitFailure
	}
	if err := p.Flush(ctx); err != nil {
		fmt.Fprintf(stderr, "segmatch publish: %v\n", err)
		code = exitFailure
	}
	fmt.Fprintf(stderr, "published %d (%d duplicates) in %s\n", p.Published, p.Duplicates, time.Since(start).Round(time.Millisecond))
	_ = stdout
	return code
}

// minRefresh is the shortest --refresh: the events stream's duplicate
// window (worker.EventStreamConfig).
const minRefresh = 2 * time.Minute

// refreshOption maps --refresh (0: never) to worker.Options.Refresh
// (0: the default; negative: never).
func refreshOption(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
