package engine

import (
	"bufio"
	"strings"
	"testing"
)

// TestBatchBytes: a batch of long lines ends past batchBytes, not at
// BatchSize lines, so what a stream holds in flight is bounded in bytes
// whatever the lines' length under MaxLineBytes; every line is still
// handed out once, in order.
func TestBatchBytes(t *testing.T) {
	line := `{"x":"` + strings.Repeat("a", 1<<20) + `"}`
	in := strings.Repeat(line+"\n", 20)
	src := &lineSource{br: bufio.NewReaderSize(strings.NewReader(in), 256<<10),
		opts: StreamOptions{BatchSize: 256, MaxLineBytes: 16 << 20}}
	var b batch
	total := 0
	for src.next(&b) {
		if len(b.buf) > batchBytes+len(line)+1 {
			t.Fatalf("a batch of %d lines holds %d bytes; bound %d + one line", len(b.lines), len(b.buf), batchBytes)
		}
		if b.first != total+1 {
			t.Fatalf("batch starts at line %d, want %d", b.first, total+1)
		}
		total += len(b.lines)
	}
	if src.err != nil || total != 20 {
		t.Fatalf("%d lines handed out (err %v), want 20", total, src.err)
	}
}
