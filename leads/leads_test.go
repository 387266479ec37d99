package leads

import (
	"errors"
	"fmt"
	"testing"

	"github.com/segmatch/segmatch/audience"
	"github.com/segmatch/segmatch/store"
	"github.com/segmatch/segmatch/store/memory"
)

func TestPrepare(t *testing.T) {
	h := New(memory.New(), Limits{MaxLeadBytes: 64}, nil)
	defer h.Close()
	for _, tc := range []struct {
		pathID, in, out, id string
		kind                error
		path                string
	}{
		{"a", `{}`, `{"_id":"a"}`, "a", nil, ""},
		{"a", ` {"x":1} `, `{"_id":"a","x":1}`, "a", nil, ""},
		{"a", `{"lead_id":"a"}`, `{"lead_id":"a"}`, "a", nil, ""},
		{"7", `{"id":7}`, `{"id":7}`, "7", nil, ""},
		{"a\"b", `{}`, `{"_id":"a\"b"}`, "a\"b", nil, ""},
		{"a", `{"_id":"b"}`, "", "", ErrBadLead, "/_id"},
		{"a", `{"_id":null}`, "", "", ErrBadLead, "/_id"},
		{"", `{"x":1}`, "", "", ErrBadLead, "/_id"},
		{"", `{"_id":""}`, "", "", ErrBadLead, "/_id"},
		{"", `{"lead_id":"z"}`, `{"lead_id":"z"}`, "z", nil, ""},
		{"a", `[]`, "", "", ErrBadLead, ""},
		{"a", `{"x":`, "", "", ErrBadLead, ""},
		{"a", `{"x":"` + string(make([]byte, 80)) + `"}`, "", "", ErrLeadTooLarge, ""},
	} {
		out, id, err := prepare(h.lim, tc.pathID, []byte(tc.in), 3)
		if tc.kind != nil {
			var le *LeadError
			if !errors.Is(err, tc.kind) || !errors.As(err, &le) || le.Path != tc.path || le.Line != 3 {
				t.Errorf("prepare(%q, %s) = %v, want %v at %q line 3", tc.pathID, tc.in, err, tc.kind, tc.path)
			}
			continue
		}
		if err != nil || string(out) != tc.out || id != tc.id {
			t.Errorf("prepare(%q, %s) = %s, %q, %v; want %s, %q", tc.pathID, tc.in, out, id, err, tc.out, tc.id)
		}
	}
}

// TestEventLog: the window, resume, and a full queue ending the stream
// without waiting.
func TestEventLog(t *testing.T) {
	l := newEventLog(3, 2, 0)
	ev := func(n int) []audience.Event {
		var out []audience.Event
		for i := range n {
			out = append(out, audience.Event{Contact: fmt.Sprint(i), Segment: "s", Entered: true})
		}
		return out
	}
	slow, _ := l.subscribe(0, false, "")
	other, _ := l.subscribe(0, false, "t") // another segment's: never full
	l.publish(ev(5))                       // seqs 1..5; the window keeps 3..5
	if !slow.Overflowed() {
		t.Fatal("a stream 5 events behind with a queue of 2 was not ended")
	}
	n := 0
	for range slow.C() {
		n++
	}
	if n != 2 {
		t.Fatalf("the ended stream held %d events, want its queue (2)", n)
	}
	if other.Overflowed() || len(other.C()) != 0 {
		t.Fatal("the filtered stream got another segment's events")
	}
	if s, _ := l.subscribe(1, true, ""); !s.Reset {
		t.Fatal("resuming after 1 (2 is gone) did not reset")
	}
	s, _ := l.subscribe(2, true, "")
	if s.Reset || len(s.Backlog) != 3 || s.Backlog[0].Seq != 3 {
		t.Fatalf("resuming after 2: reset %v, backlog %v", s.Reset, s.Backlog)
	}
	if s, _ := l.subscribe(5, true, ""); s.Reset || len(s.Backlog) != 0 {
		t.Fatal("resuming after the last event")
	}
	if s, _ := l.subscribe(9, true, ""); !s.Reset {
		t.Fatal("an id never issued did not reset")
	}
	l.close()
	if _, ok := <-other.C(); ok {
		t.Fatal("close left a stream open")
	}
}

func TestHubClosed(t *testing.T) {
	h := New(memory.New(), Limits{}, nil)
	if _, err := h.Put(t.Context(), "p", "a", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if _, err := h.Put(t.Context(), "p", "a", []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, err := h.Put(t.Context(), "", "a", []byte(`{}`)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an empty project: %v", err)
	}
}

// TestStreamBound: a project's event streams are bounded (MaxStreams):
// one more is ErrTooManyStreams, and closing one makes room.
func TestStreamBound(t *testing.T) {
	l := newEventLog(3, 2, 2)
	a, err := l.subscribe(0, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.subscribe(0, false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := l.subscribe(0, false, ""); !errors.Is(err, ErrTooManyStreams) {
		t.Fatalf("a third stream: %v, want ErrTooManyStreams", err)
	}
	a.Close()
	if _, err := l.subscribe(0, false, ""); err != nil {
		t.Fatalf("after one closed: %v", err)
	}
}
