package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/segmatch/segmatch/benchmarks"
	"github.com/segmatch/segmatch/filter"
)

// full are the peers that express every generated segment.
var full = []string{ClosuresJSON, ClosuresSon, CEL, CELAll, Expr, LD, GrowthBook}

// TestAgreement is the check CI runs (.ci/peers): on a small generated
// workload, every peer answers every (contact, segment) pair it
// expresses as the engine does, raw JSON in and pre-decoded; the peers
// that express every generated segment still do, and go-bexpr some. A
// translation that drifts (a peer's new version, an edited translator,
// a change of the engine's semantics) fails here, not in a report.
func TestAgreement(t *testing.T) {
	for _, seed := range []uint64{1, 7} {
		w, err := benchmarks.Generate(benchmarks.Config{Segments: 80, Contacts: 150, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		sc := NewSchema(w.Segments, w.Maps)
		bs := Prepare(w.Segments, sc, Kinds())
		Check(bs, w.Raw)
		for _, b := range bs {
			if b.Err != nil {
				t.Errorf("seed %d: %s not built: %v", seed, b.Name, b.Err)
				continue
			}
			if b.Floor || b.Baseline {
				continue
			}
			if !b.Agrees() {
				t.Errorf("seed %d: %s disagrees with the engine: %d raw, %d pre-decoded pairs of %d; first: %s",
					seed, b.Name, b.Disagree[0], b.Disagree[1], b.Pairs, b.Example)
			}
			for _, name := range full {
				if b.Name == name && len(b.Idx) != len(w.Segments) {
					t.Errorf("seed %d: %s expresses %d of %d generated segments: %v", seed, b.Name, len(b.Idx), len(w.Segments), b.Why)
				}
			}
			if b.Name == Bexpr && len(b.Idx) == 0 {
				t.Errorf("seed %d: go-bexpr expresses no generated segment: %v", seed, b.Why)
			}
			t.Logf("seed %d: %-26s %3d/%d segments, %6d pairs per entry, agrees=%v", seed, b.Name, len(b.Idx), len(w.Segments), b.Pairs, b.Agrees())
		}
	}
}

// edgeContacts hold what the generated ones rarely do side by side:
// missing and null at the top level and nested, empty arrays and
// objects, an array element that contains a wanted tag without being
// it, a numeric string beside a number.
var edgeContacts = []string{
	`{"_id":"a","country":"IT","tags":["vip","lead"],"email":"x@gmail.com","attributes":{"age":30,"newsletter":true,"code":34},"status":100}`,
	`{"_id":"b","country":null,"tags":[],"email":null,"attributes":{"age":null,"newsletter":null,"code":"34"},"status":null}`,
	`{"_id":"c","attributes":{}}`,
	`{"_id":"d","country":"DE","tags":["vipx"],"email":"vip@acme.de","attributes":{"age":17.5,"newsletter":false,"code":"x"},"status":200}`,
	`{"_id":"e","country":"it","tags":["VIP"],"email":"Vip@Acme.DE","attributes":{"age":65,"newsletter":true},"status":100,"extra":{"a":[1,2]}}`,
}

// edgeSegments: the first group every schema-based translator takes;
// the rest (marked) some or all cannot express exactly.
var edgeSegments = []string{
	`{"filters":[{"field":"country","operator":"eq","value":"IT"}]}`,
	`{"filters":[{"field":"country","operator":"ne","value":"IT"}]}`,
	`{"filters":[{"field":"country","operator":"!=","value":"IT"},{"field":"email","operator":"is_set"}]}`,
	`{"filters":[{"field":"country","operator":"in","value":["IT","FR"]}]}`,
	`{"filters":[{"field":"country","operator":"is_set"}]}`,
	`{"filters":[{"field":"tags","operator":"is_set"}]}`,
	`{"filters":[{"field":"tags","operator":"contains","value":"vip"}]}`,
	`{"filters":[{"field":"email","operator":"contains","value":"@gmail"}]}`,
	`{"filters":[{"field":"email","operator":"starts_with","value":"vip"}]}`,
	`{"filters":[{"field":"email","operator":"ends with","value":".de"}]}`,
	`{"filters":[{"field":"attributes.newsletter","operator":"eq","value":true}]}`,
	`{"filters":[{"field":"attributes.newsletter","operator":"eq","value":false}]}`,
	`{"filters":[{"field":"attributes.newsletter","operator":"ne","value":true}]}`,
	`{"filters":[{"field":"attributes.newsletter","operator":"is_set"}]}`,
	`{"filters":[{"field":"status","operator":"eq","value":100}]}`,
	`{"filters":[{"field":"status","operator":"ne","value":100}]}`,
	`{"match":"any","filters":[{"field":"country","operator":"ne","value":"IT"},{"field":"status","operator":"eq","value":200}]}`,
	`{"match":"any","filters":[{"field":"tags","operator":"contains","value":"lead"},{"field":"email","operator":"ends_with","value":".de"}]}`,
	`{"filters":[]}`,
	`{"match":"any","filters":[]}`,
	// ordering: not go-bexpr
	`{"filters":[{"field":"attributes.age","operator":"gt","value":18}]}`,
	`{"filters":[{"field":"attributes.age","operator":"<=","value":30}]}`,
	`{"match":"any","filters":[{"field":"country","operator":"ne","value":"IT"},{"field":"attributes.age","operator":"gte","value":65}]}`,
	`{"filters":[{"field":"attributes.age","operator":"is_set"}]}`,
	// a numeric string beside a number: only the closures (mixed type)
	`{"filters":[{"field":"attributes.code","operator":"gt","value":30}]}`,
	// outside every translator but the closures' (groups, negate)
	`{"filters":[{"field":"country","operator":"eq","value":"IT","negate":true}]}`,
	`{"filters":[{"match":"any","filters":[{"field":"country","operator":"eq","value":"DE"},{"field":"status","operator":"eq","value":100}]}]}`,
	// outside every translator
	`{"filters":[{"field":"country","operator":"eq","value":"it","ignore_case":true}]}`,
	`{"filters":[{"field":"email","operator":"regex","value":"^v"}]}`,
	`{"filters":[{"field":"extra.a","operator":"contains_any","value":[2]}]}`,
}

// expressible is how many edge segments each peer takes.
var expressible = map[string]int{
	ClosuresJSON: 27, ClosuresSon: 27, CEL: 24, CELAll: 24, Expr: 24, LD: 24, GrowthBook: 24, Bexpr: 20,
}

// TestEdgeAgreement: the same check on edgeContacts and edgeSegments,
// with the number of segments each peer expresses fixed: the missing /
// null / fan-out / numeric-string rules are where a translation goes
// wrong.
func TestEdgeAgreement(t *testing.T) {
	var segs []filter.Segment
	for i, js := range edgeSegments {
		var s filter.Segment
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		s.ID = "edge-" + string(rune('a'+i))
		segs = append(segs, s)
	}
	var raws [][]byte
	for _, c := range edgeContacts {
		raws = append(raws, []byte(c))
	}
	w, err := benchmarks.FromData(segs, raws)
	if err != nil {
		t.Fatal(err)
	}
	sc := NewSchema(segs, w.Maps)
	bs := Prepare(segs, sc, Kinds())
	Check(bs, raws)
	for _, b := range bs {
		if b.Floor || b.Baseline {
			continue
		}
		if b.Err != nil {
			t.Errorf("%s not built: %v", b.Name, b.Err)
			continue
		}
		if !b.Agrees() {
			t.Errorf("%s disagrees with the engine: %d raw, %d pre-decoded pairs; first: %s (segment indexes are into edgeSegments)",
				b.Name, b.Disagree[0], b.Disagree[1], b.Example)
		}
		if want, ok := expressible[b.Name]; ok && len(b.Idx) != want {
			t.Errorf("%s expresses %d edge segments, want %d: %v", b.Name, len(b.Idx), want, b.Why)
		}
	}
}

// flipped is a peer that answers one pair wrong.
type flipped struct{ Peer }

func (f flipped) Raw(raw []byte, dst []bool) error {
	err := f.Peer.Raw(raw, dst)
	if strings.Contains(string(raw), `"country":"IT"`) {
		dst[0] = !dst[0]
	}
	return err
}

// TestDisagreementIsCaught: a peer that answers one pair wrong is
// reported as disagreeing and left out of the timing.
func TestDisagreementIsCaught(t *testing.T) {
	w, err := benchmarks.Generate(benchmarks.Config{Segments: 20, Contacts: 60})
	if err != nil {
		t.Fatal(err)
	}
	sc := NewSchema(w.Segments, w.Maps)
	kinds := []Kind{{Name: "flipped", Express: celExpress, Build: func(s []filter.Segment, sc Schema) (Peer, error) {
		p, err := exprBuild(s, sc)
		return flipped{p}, err
	}}}
	bs := Prepare(w.Segments, sc, kinds)
	Check(bs, w.Raw)
	b := bs[1]
	if b.Agrees() || b.Disagree[0] == 0 || b.Disagree[1] != 0 {
		t.Fatalf("flipped: disagreements %v, want raw only", b.Disagree)
	}
	raw, native := Measure(bs, w.Raw, Config{Rounds: 1, Batch: 1e6, Native: true})
	for _, r := range append(raw, native...) {
		if r.Name == "flipped" {
			t.Errorf("a disagreeing peer was timed")
		}
	}
	if len(raw) != 1 || len(native) != 1 {
		t.Errorf("timed %d raw, %d pre-decoded rows; want the engine alone", len(raw), len(native))
	}
}
