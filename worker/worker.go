package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/store"
)

// Subjects: contact changes are published to ContactSubjectPrefix.<project>,
// bad ones dead-lettered to DeadSubjectPrefix.<project>.
const (
	ContactSubjectPrefix = "segmatch.contacts"
	DeadSubjectPrefix    = "segmatch.dead"
	// DefaultEventsStream and DefaultDeadStream hold the events and the
	// dead letters (created when missing).
	DefaultEventsStream = "SEGMATCH_EVENTS"
	DefaultDeadStream   = "SEGMATCH_DEAD"
	DefaultDurable      = "segmatch-worker"
)

// Options configure a Worker.
type Options struct {
	Stream       string   // the contacts stream (created when missing)
	Projects     []string // the projects to consume; none: every project (segmatch.contacts.>)
	Durable      string   // the shared durable consumer's name
	EventsStream string
	DeadStream   string
	Batch        int // messages fetched at once (default 256)
	// AckWait is how long a fetched message may stay unacked before
	// JetStream redelivers it (default 30s); a batch in flight is kept in
	// progress every third of it, so it should be well above the 250 ms a
	// fetch waits for a full batch.
	AckWait      time.Duration
	IDFields     []string
	VersionField string
	Log          *slog.Logger
	// Refresh is how often the time-dependent segments (relative dates:
	// within_last, ...) are re-evaluated over the stored contacts, so
	// that membership follows time and not only contact changes and
	// segment edits (see Refresh). 0: DefaultRefresh; negative: never.
	// Keep it above the events stream's duplicate window (2 minutes):
	// an event's message id has no time in it, so a transition that
	// time alone repeats at one contact version and segment revision
	// within the window is dropped by JetStream as a duplicate.
	Refresh time.Duration
	// Now is the clock the segments' relative dates read (nil: time.Now);
	// a refresh reads it once per pass.
	Now func() time.Time
}

// Stats count what a worker did.
type Stats struct {
	Messages    int64 `json:"messages"`
	Redelivered int64 `json:"redelivered"` // messages delivered more than once
	Contacts    int64 `json:"contacts"`    // good contact lines
	Applied     int64 `json:"applied"`     // newer than the stored version
	Stale       int64 `json:"stale"`       // not newer: duplicates and reordering
	Dead        int64 `json:"dead"`        // lines sent to the dead-letter subject
	Events      int64 `json:"events"`      // enter/exit events published
	Batches     int64 `json:"batches"`
	Retries     int64 `json:"retries"`    // batches classified again (revision moved)
	Recomputed  int64 `json:"recomputed"` // contacts recomputed after segment edits
	// Refreshes, RefreshContacts and RefreshEvents count the refresh
	// passes this worker completed over time-dependent segments, the
	// contacts they re-evaluated, and the enter/exit events they committed.
	Refreshes       int64 `json:"refreshes"`
	RefreshContacts int64 `json:"refresh_contacts"`
	RefreshEvents   int64 `json:"refresh_events"`
}

// Worker consumes contact changes and keeps the membership table.
type Worker struct {
	opts   Options
	nc     *nats.Conn
	js     jetstream.JetStream
	pool   *pgxpool.Pool
	st     store.Store
	log    *slog.Logger
	cons   jetstream.Consumer
	folMu  sync.Mutex
	fol    map[string]*Follower // guarded by folMu
	bg     sync.WaitGroup       // the followers' announcers
	runCtx context.Context
	stats  struct {
		messages, redelivered, contacts, applied, stale, dead, events, batches, retries, recomputed atomic.Int64
		refreshes, refreshContacts, refreshEvents                                                   atomic.Int64
	}
	pubMu sync.Mutex
	now   func() time.Time
	// applyHook, when set (tests), runs before each membership
	// transaction: a way to make a batch slow.
	applyHook func()
}

// ContactStreamConfig is the contacts stream a worker or publisher
// creates when it is missing: work-queue retention (a message is gone
// once acked), on file, deduplicating by Nats-Msg-Id for 2 minutes.
func ContactStreamConfig(name string) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: name, Subjects: []string{ContactSubjectPrefix + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}
}

// Retention of the streams a worker creates: an event is kept a week
// (what a consumer, or an API client resuming its event stream, may
// catch up on), a dead letter a month.
const (
	EventsMaxAge = 7 * 24 * time.Hour
	DeadMaxAge   = 30 * 24 * time.Hour
)

// EventStreamConfig is the events stream a worker or an Audience
// creates when it is missing: on file, deduplicating by Nats-Msg-Id
// for 2 minutes, each event kept EventsMaxAge.
func EventStreamConfig(name string) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: name, Subjects: []string{EventSubjectPrefix + ".>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, MaxAge: EventsMaxAge}
}

// DeadStreamConfig is the dead-letter stream a worker creates when it
// is missing: each bad line kept DeadMaxAge.
func DeadStreamConfig(name string) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: name, Subjects: []string{DeadSubjectPrefix + ".>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, MaxAge: DeadMaxAge}
}

// EnsureStream creates the stream when missing (an existing one is used
// as it is).
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	_, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("worker: stream %s: %w", cfg.Name, err)
	}
	return nil
}

// New prepares a worker: the tables, the streams, the durable consumer and
// a segment follower per project.
func New(ctx context.Context, nc *nats.Conn, pool *pgxpool.Pool, st store.Store, opts Options) (*Worker, error) {
	if opts.Stream == "" {
		return nil, errors.New("worker: a stream is needed")
	}
	if opts.Durable == "" {
		opts.Durable = DefaultDurable
	}
	if opts.EventsStream == "" {
		opts.EventsStream = DefaultEventsStream
	}
	if opts.DeadStream == "" {
		opts.DeadStream = DefaultDeadStream
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Refresh == 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, err
	}
	w := &Worker{opts: opts, nc: nc, js: js, pool: pool, st: st, log: opts.Log, fol: map[string]*Follower{}, now: opts.Now}
	if err := Install(ctx, pool); err != nil {
		return nil, err
	}
	if err := InstallRefresh(ctx, pool); err != nil {
		return nil, err
	}
	for _, cfg := range []jetstream.StreamConfig{
		ContactStreamConfig(opts.Stream),
		EventStreamConfig(opts.EventsStream),
		DeadStreamConfig(opts.DeadStream),
	} {
		if err := EnsureStream(ctx, js, cfg); err != nil {
			return nil, err
		}
	}
	var filters []string
	for _, p := range opts.Projects {
		if p == "" || strings.ContainsAny(p, ".*> \t\r\n") {
			return nil, fmt.Errorf("worker: project %q cannot be a subject token", p)
		}
		filters = append(filters, ContactSubjectPrefix+"."+p)
	}
	cc := jetstream.ConsumerConfig{Durable: opts.Durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: opts.AckWait,
		MaxDeliver: -1, MaxAckPending: 64 * opts.Batch}
	switch len(filters) {
	case 0:
		cc.FilterSubject = ContactSubjectPrefix + ".>"
	case 1:
		cc.FilterSubject = filters[0]
	default:
		cc.FilterSubjects = filters
	}
	w.cons, err = js.CreateOrUpdateConsumer(ctx, opts.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("worker: consumer %s on %s: %w", opts.Durable, opts.Stream, err)
	}
	for _, p := range opts.Projects {
		f, err := Follow(ctx, st, p, opts.Log, segmatch.WithNow(w.now))
		if err != nil {
			return nil, err
		}
		w.fol[p] = f
	}
	return w, nil
}

// MaxProjects bounds the projects one worker follows when it consumes
// every project: a message for one more is dead-lettered.
const MaxProjects = 10_000

// follower returns project's follower; in every-project mode it starts
// one on the project's first message.
func (w *Worker) follower(ctx context.Context, project string) (*Follower, error) {
	w.folMu.Lock()
	defer w.folMu.Unlock()
	if f, ok := w.fol[project]; ok || len(w.opts.Projects) > 0 {
		if !ok {
			return nil, &ContactError{Reason: "no worker for this project"}
		}
		return f, nil
	}
	if project == "" || strings.ContainsAny(project, ".*> \t\r\n") {
		return nil, &ContactError{Reason: "not a project id"}
	}
	if len(w.fol) >= MaxProjects {
		return nil, &ContactError{Reason: fmt.Sprintf("this worker follows %d projects already", MaxProjects)}
	}
	f, err := Follow(w.runCtx, w.st, project, w.log, segmatch.WithNow(w.now))
	if err != nil {
		return nil, err
	}
	w.fol[project] = f
	w.bg.Add(1)
	go func() { defer w.bg.Done(); w.announcer(w.runCtx, f) }()
	return f, nil
}

// Stats returns the counts so far.
func (w *Worker) Stats() Stats {
	s := &w.stats
	return Stats{Messages: s.messages.Load(), Redelivered: s.redelivered.Load(), Contacts: s.contacts.Load(),
		Applied: s.applied.Load(), Stale: s.stale.Load(), Dead: s.dead.Load(), Events: s.events.Load(),
		Batches: s.batches.Load(), Retries: s.retries.Load(), Recomputed: s.recomputed.Load(),
		Refreshes: s.refreshes.Load(), RefreshContacts: s.refreshContacts.Load(), RefreshEvents: s.refreshEvents.Load()}
}

// Run consumes until ctx is done. Errors reaching NATS or PostgreSQL are
// retried (logged); it returns nil when ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	w.runCtx = ctx
	w.folMu.Lock()
	for _, f := range w.fol {
		w.bg.Add(1)
		go func() { defer w.bg.Done(); w.announcer(ctx, f) }()
	}
	w.folMu.Unlock()
	w.bg.Add(1)
	go func() {
		defer w.bg.Done()
		d := &Drainer{Pool: w.pool, JS: w.js, Log: w.log, Published: func(n int) { w.stats.events.Add(int64(n)) }}
		d.Run(ctx)
	}()
	if w.opts.Refresh > 0 {
		w.bg.Add(1)
		go func() { defer w.bg.Done(); w.refresher(ctx) }()
	}
	defer w.bg.Wait()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		batch, err := w.cons.Fetch(w.opts.Batch, jetstream.FetchMaxWait(250*time.Millisecond))
		if err != nil {
			w.log.Warn("worker: fetch", "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(msgs) == 0 {
			w.log.Warn("worker: fetch", "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if len(msgs) == 0 {
			continue
		}
		if err := w.process(ctx, msgs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.Error("worker: batch failed; its messages will be redelivered", "err", err)
			for _, m := range msgs {
				_ = m.NakWithDelay(time.Second)
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// item is one good contact line, classified under snap.
type item struct {
	p    Parsed
	line []byte
	segs []string
	snap *Snapshot
}

// process handles a fetched batch: dead letters first, then per project
// one membership transaction, then the acks, then the events.
func (w *Worker) process(ctx context.Context, msgs []jetstream.Msg) error {
	w.stats.batches.Add(1)
	stop := keepInProgress(msgs, w.opts.AckWait/3)
	defer stop()
	byProject := map[string][]item{}
	for _, m := range msgs {
		w.stats.messages.Add(1)
		var seq uint64
		if md, err := m.Metadata(); err == nil {
			seq = md.Sequence.Stream
			if md.NumDelivered > 1 {
				w.stats.redelivered.Add(1)
			}
		}
		project := strings.TrimPrefix(m.Subject(), ContactSubjectPrefix+".")
		if _, err := w.follower(ctx, project); err != nil {
			var ce *ContactError
			if !errors.As(err, &ce) {
				return err
			}
			if err := w.deadLetter(ctx, project, m, seq, 0, m.Data(), ce.Reason); err != nil {
				return err
			}
			continue
		}
		f, _ := w.follower(ctx, project)
		var dead error
		lines(m.Data(), func(n int, line []byte) {
			if dead != nil {
				return
			}
			p, err := ParseContact(line, w.opts.IDFields, w.opts.VersionField)
			it := item{p: p, line: line}
			if err == nil && !p.Deleted {
				it.snap = f.Load()
				if it.segs, err = it.snap.Engine.ClassifyJSON(line); err != nil {
					err = fmt.Errorf("malformed contact: %w", err)
				}
			}
			if err != nil {
				dead = w.deadLetter(ctx, project, m, seq, n, line, err.Error())
				return
			}
			w.stats.contacts.Add(1)
			byProject[project] = append(byProject[project], it)
		})
		if dead != nil {
			return dead
		}
	}
	for project, items := range byProject {
		// the events are in the outbox: the drainer's to publish
		if _, err := w.applyProject(ctx, project, items); err != nil {
			return err
		}
	}
	stop()
	for _, m := range msgs {
		_ = m.Ack() // a lost ack is a redelivery, which is harmless
	}
	return nil
}

// applyProject classifies one project's items under its current snapshot
// and writes them, classifying again when the segment revisions moved.
func (w *Worker) applyProject(ctx context.Context, project string, items []item) ([]Outboxed, error) {
	// One change per contact: the newest version (the others are stale).
	newest := map[string]int{}
	var keep []item
	for _, it := range items {
		if i, ok := newest[it.p.ID]; ok {
			w.stats.stale.Add(1)
			if it.p.Version > keep[i].p.Version {
				keep[i] = it
			}
			continue
		}
		newest[it.p.ID] = len(keep)
		keep = append(keep, it)
	}
	f, err := w.follower(ctx, project)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		snap := f.Load()
		changes := make([]Change, 0, len(keep))
		for _, it := range keep {
			c := Change{Contact: it.p.ID, Version: it.p.Version}
			if !it.p.Deleted {
				c.Doc = it.line
				c.Segments = it.segs
				if it.snap != snap {
					// The engine read the line before (it is valid JSON:
					// the verdict does not depend on the segments).
					c.Segments, _ = snap.Engine.ClassifyJSON(it.line)
				}
			}
			changes = append(changes, c)
		}
		if w.applyHook != nil {
			w.applyHook()
		}
		res, err := Apply(ctx, w.pool, snap, changes)
		var re *RevisionError
		if errors.As(err, &re) {
			w.stats.retries.Add(1)
			if err := w.reconcile(ctx, f, snap, re); err != nil {
				return nil, err
			}
			if try%20 == 19 {
				w.log.Warn("worker: still waiting for the segments to agree", "err", re)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		w.stats.applied.Add(int64(res.Applied))
		w.stats.stale.Add(int64(res.Stale))
		return res.Events, nil
	}
}

// reconcile brings the worker and the table to agree after a
// RevisionError: a snapshot ahead is announced (and its moved segments
// recomputed); one behind waits for the follower.
func (w *Worker) reconcile(ctx context.Context, f *Follower, snap *Snapshot, re *RevisionError) error {
	if !re.Behind {
		return w.announce(ctx, snap)
	}
	changed := f.Changed()
	if f.Load() != snap {
		return nil
	}
	if re.Have == 0 {
		f.Gone(re.Segment) // unknown here: created since, or deleted before this worker started
	} else {
		f.Refresh()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-time.After(500 * time.Millisecond):
	}
	return nil
}

// announce records snap's revisions and recomputes the moved segments
// (and any recompute left unfinished by a worker that stopped).
func (w *Worker) announce(ctx context.Context, snap *Snapshot) error {
	if _, err := Announce(ctx, w.pool, snap); err != nil {
		return err
	}
	start := time.Now()
	n, err := RecomputePending(ctx, w.pool, snap, drained)
	w.stats.recomputed.Add(int64(n))
	if n > 0 {
		w.log.Info("worker: segments recomputed", "project", snap.Project, "contacts", n, "took", time.Since(start))
	}
	return err
}

// announcer announces each new snapshot of f at once, so that a segment
// edit is recomputed without waiting for a contact change, and every 2 s
// takes up recomputes that a stopped worker left unfinished.
func (w *Worker) announcer(ctx context.Context, f *Follower) {
	announced := (*Snapshot)(nil)
	for ctx.Err() == nil {
		snap := f.Load()
		changed := f.Changed()
		var err error
		if snap != announced {
			if err = w.announce(ctx, snap); err == nil {
				announced = snap
			}
		} else {
			var n int
			n, err = RecomputePending(ctx, w.pool, snap, drained)
			w.stats.recomputed.Add(int64(n))
		}
		if err != nil && ctx.Err() == nil {
			w.log.Warn("worker: segment revisions", "project", snap.Project, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(2 * time.Second):
		}
	}
}

// deadLetter publishes a bad line (or message) to DeadSubjectPrefix.<project>
// with the reason, and counts it. It is deduplicated by stream sequence
// and line, so a redelivered message does not dead-letter twice.
func (w *Worker) deadLetter(ctx context.Context, project string, m jetstream.Msg, seq uint64, line int, data []byte, reason string) error {
	subj := DeadSubjectPrefix + "." + project
	if project == "" || strings.ContainsAny(project, "*> ") {
		subj = DeadSubjectPrefix + "._"
	}
	msg := &nats.Msg{Subject: subj, Data: data, Header: nats.Header{}}
	msg.Header.Set("Segmatch-Error", reason)
	msg.Header.Set("Segmatch-Subject", m.Subject())
	msg.Header.Set("Segmatch-Stream-Seq", strconv.FormatUint(seq, 10))
	msg.Header.Set("Segmatch-Line", strconv.Itoa(line))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := w.js.PublishMsg(ctx, msg, jetstream.WithMsgID("dead|"+w.opts.Stream+"|"+strconv.FormatUint(seq, 10)+"|"+strconv.Itoa(line)))
	if err != nil {
		return fmt.Errorf("worker: dead-lettering: %w", err)
	}
	w.stats.dead.Add(1)
	w.log.Warn("worker: dead letter", "project", project, "seq", seq, "line", line, "reason", reason)
	return nil
}
