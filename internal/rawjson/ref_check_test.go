package rawjson

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// tracer is a Collector that records every call; it wants a member
// unless its key's length is 2 mod 3 (so some are skipped, with what is
// below them), numbering the nodes it wants in turn (from 0).
type tracer struct {
	calls []string
	nodes int32
}

func (t *tracer) Member(parent int32, rawKey string) int32 {
	if len(rawKey)%3 == 2 {
		t.calls = append(t.calls, fmt.Sprintf("M %d %q -1", parent, rawKey))
		return -1
	}
	n := t.nodes
	t.nodes++
	t.calls = append(t.calls, fmt.Sprintf("M %d %q %d", parent, rawKey, n))
	return n
}

func (t *tracer) Value(node int32, raw string) {
	t.calls = append(t.calls, fmt.Sprintf("V %d %q", node, raw))
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkReference: Validate, ValidateObject and ValidateCollect (at several
// depths) answer as the reference validator does, with the same error
// text and the same Collector calls, valid input or not.
func checkReference(t *testing.T, b []byte) {
	t.Helper()
	if got, want := errText(Validate(b)), errText(refValidate(b, nil, 0)); got != want {
		t.Fatalf("Validate(%q) = %s; the reference says %s", b, got, want)
	}
	for _, depth := range []int{0, 1, 2, 3, MaxCollectDepth, 100} {
		var got, want tracer
		gerr, werr := errText(ValidateCollect(b, &got, depth)), errText(refValidateCollect(b, &want, depth))
		if gerr != werr {
			t.Fatalf("ValidateCollect(%q, %d) = %s; the reference says %s", b, depth, gerr, werr)
		}
		if !slices.Equal(got.calls, want.calls) {
			t.Fatalf("ValidateCollect(%q, %d) calls\n%s\nthe reference's\n%s", b, depth, strings.Join(got.calls, "\n"), strings.Join(want.calls, "\n"))
		}
	}
}

// TestAgainstReference runs checkReference on the fuzz seeds, the
// committed corpus's shapes and random mutations of valid documents
// (truncations, a byte replaced, inserted or dropped).
func TestAgainstReference(t *testing.T) {
	docs := []string{
		`{ "a" : 1, "b":{"c":[{"d":2}], "e" :{ "f":"x\"}" }, "g":{} }, "h":[{"i":1}], "b":null, "skip":{"j":1}, "\u006b":true }`,
		`{"_id":"2b3a513466370814a7062fea","fullname":"Hiroshi Bianchi","attributes":{"age":30,"newsletter":false,"score":62.5e-3,"preferences":{"language":"de"}},"tags":["partner",[1,{"x":[]}]],"n":-0.0E+12,"o":{"p":{"q":{"r":{"s":"\ud83d\ude00\n\t\\\/"}}}}}`,
		"{\"a\"\t:\r\n[ 1 , 2 ,{ } , [ ] ,\"x\" ] , \"bb\" : { \"ccc\" : { \"dd\" : true } } }",
		`[{"a":1},"b",3,true,false,null,[[[]]]]`,
		strings.Repeat(`{"k":`, MaxCollectDepth+3) + `1` + strings.Repeat(`}`, MaxCollectDepth+3),
		strings.Repeat(`[`, 70) + `{"a":[1,{"b":2}]}` + strings.Repeat(`]`, 70),
		`[` + strings.Repeat(`[`, 9998) + strings.Repeat(`]`, 9999),
		`[` + strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 10000),
		`{"a":` + strings.Repeat(`[`, 9998) + strings.Repeat(`]`, 9998) + `}`,
		`{"a":` + strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 9999) + `}`,
		strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001),
		strings.Repeat(`{"ab":`, 100) + `1` + strings.Repeat(`}`, 100),
		strings.Repeat(`{"a":`, 20) + strings.Repeat(`[`, 9980) + strings.Repeat(`]`, 9980) + strings.Repeat(`}`, 20),
		strings.Repeat(`{"a":`, 20) + strings.Repeat(`[`, 9981) + strings.Repeat(`]`, 9981) + strings.Repeat(`}`, 20),
	}
	for _, d := range docs {
		checkReference(t, []byte(d))
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("{}[]:,\"\\ \t\n01-.eE+tfnrulsaxu\x00\x1f\x7f\xff")
	n := 20000
	if testing.Short() {
		n = 3000
	}
	for range n {
		d := []byte(docs[r.IntN(4)])
		switch r.IntN(4) {
		case 0:
			d = d[:r.IntN(len(d)+1)]
		case 1:
			d[r.IntN(len(d))] = alphabet[r.IntN(len(alphabet))]
		case 2:
			j := r.IntN(len(d) + 1)
			d = append(d[:j:j], append([]byte{alphabet[r.IntN(len(alphabet))]}, d[j:]...)...)
		default:
			j := r.IntN(len(d))
			d = append(d[:j:j], d[j+1:]...)
		}
		checkReference(t, d)
	}
}
