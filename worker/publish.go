package worker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher sends contact changes to the contacts stream, one contact a
// message, each with a Nats-Msg-Id of project, contact id and version, so
// publishing the same change again is dropped by JetStream (within the
// stream's duplicate window) and, past it, is a stale change the workers
// ignore.
type Publisher struct {
	js           jetstream.JetStream
	IDFields     []string
	VersionField string
	pending      []jetstream.PubAckFuture
	// Published and Duplicates count acknowledged messages, and those the
	// stream had already.
	Published, Duplicates int
}

// NewPublisher makes a publisher on js, creating the stream when missing.
func NewPublisher(ctx context.Context, js jetstream.JetStream, stream string) (*Publisher, error) {
	if err := EnsureStream(ctx, js, ContactStreamConfig(stream)); err != nil {
		return nil, err
	}
	return &Publisher{js: js}, nil
}

// MsgID is a contact change's deduplication id.
func MsgID(project, contact string, version int64) string {
	return project + "|" + contact + "|" + strconv.FormatInt(version, 10)
}

// Publish sends one contact (JSON with an id and a version, see
// ParseContact) asynchronously; Flush waits for the acknowledgements. A
// contact without an id or version is a *ContactError and is not sent.
func (p *Publisher) Publish(project string, contact []byte) error {
	if project == "" || strings.ContainsAny(project, ".*> \t\r\n") {
		return fmt.Errorf("worker: project %q cannot be a subject token", project)
	}
	parsed, err := ParseContact(contact, p.IDFields, p.VersionField)
	if err != nil {
		return &ContactError{Line: 1, Reason: err.Error()}
	}
	msg := &nats.Msg{Subject: ContactSubjectPrefix + "." + project, Data: contact}
	f, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(MsgID(project, parsed.ID, parsed.Version)))
	if err != nil {
		return err
	}
	p.pending = append(p.pending, f)
	if len(p.pending) >= 2048 {
		return p.Flush(context.Background())
	}
	return nil
}

// Flush waits until every message published so far is acknowledged; the
// first failure is returned (the messages after it are still waited for).
func (p *Publisher) Flush(ctx context.Context) error {
	var first error
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for _, f := range p.pending {
		select {
		case ack := <-f.Ok():
			p.Published++
			if ack.Duplicate {
				p.Duplicates++
			}
		case err := <-f.Err():
			if first == nil {
				first = err
			}
		case <-timeout.C:
			p.pending = nil
			return fmt.Errorf("worker: publish acknowledgements timed out")
		case <-ctx.Done():
			p.pending = nil
			return ctx.Err()
		}
	}
	p.pending = p.pending[:0]
	return first
}
