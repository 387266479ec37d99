package store

import (
	"testing"
	"time"
)

func TestIDGen(t *testing.T) {
	var g IDGen
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	prev := ""
	// A clock that stands still, then steps back, then jumps forward.
	for i, now := range []time.Time{t0, t0, t0, t0.Add(-time.Hour), t0.Add(time.Second), t0.Add(time.Second)} {
		id := g.Next(now)
		if !ValidID(id) {
			t.Fatalf("%d: %q is not a valid id", i, id)
		}
		if id <= prev {
			t.Fatalf("%d: %s not after %s", i, id, prev)
		}
		prev = id
	}
	if got := IDTime(prev); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("IDTime = %v", got)
	}
	var g2 IDGen
	g2.Observe(prev)
	if id := g2.Next(t0); id <= prev {
		t.Fatalf("after Observe(%s): %s", prev, id)
	}
	for _, bad := range []string{"", "nope", "65F1C0FFEE0000000000A001", "65f1c0ffee0000000000a0011"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}
