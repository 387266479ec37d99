package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Outboxed is an event stored in the outbox row ID, to publish then
// delete (with the row's other events).
type Outboxed struct {
	ID      int64
	Subject string
	MsgID   string
	Payload []byte
}

// insertOutboxSQL stores an outbox row (outboxRow) and returns its id.
const insertOutboxSQL = "INSERT INTO segmatch_outbox (events) VALUES ($1) RETURNING id"

// outboxRow encodes a transaction's events for one outbox row (a JSON
// array of Event) and returns them ready to publish (their ID is the
// row's, once inserted). Each event is encoded once: the row is its
// events' payloads joined, the bytes decodeOutbox gives back.
func outboxRow(events []Event) ([]byte, []Outboxed, error) {
	out := make([]Outboxed, len(events))
	var row bytes.Buffer
	row.WriteByte('[')
	for i, e := range events {
		o, err := outboxed(0, e)
		if err != nil {
			return nil, nil, err
		}
		if i > 0 {
			row.WriteByte(',')
		}
		row.Write(o.Payload)
		out[i] = o
	}
	row.WriteByte(']')
	return row.Bytes(), out, nil
}

// decodeOutbox reads an outbox row's events (for the Drainer). Each
// event's payload is its bytes in the row, as outboxRow encoded it: it
// is decoded for its subject and message id, not encoded again.
func decodeOutbox(id int64, data []byte) ([]Outboxed, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("worker: outbox row %d: %w", id, err)
	}
	out := make([]Outboxed, len(raws))
	for i, raw := range raws {
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("worker: outbox row %d, event %d: %w", id, i, err)
		}
		out[i] = Outboxed{ID: id, Subject: EventSubjectPrefix + "." + e.Project, MsgID: e.MsgID(), Payload: raw}
	}
	return out, nil
}

// outboxed is e ready to publish, from the outbox row id.
func outboxed(id int64, e Event) (Outboxed, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return Outboxed{}, err
	}
	return Outboxed{ID: id, Subject: EventSubjectPrefix + "." + e.Project, MsgID: e.MsgID(), Payload: b}, nil
}
