package segmatch_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
	"github.com/tidwall/gjson"
)

// The issue-2 workload: a 3-condition segment ("Italian VIPs with 3+
// orders") and a ~1 KB Tiledesk lead that matches it, so no backend
// short-circuits early.
var benchSegment = filter.Segment{ID: "s1", Name: "Italian VIPs", Match: filter.All, Filters: []filter.Filter{
	filter.Cond("attributes.country", "eq", "IT"),
	filter.Cond("tags", "contains", "vip"),
	filter.Cond("attributes.orders", "gte", 3),
}}

const benchContact = `{"_id":"65f1c0ffee0000000000b001","lead_id":"web-8a1f3c2e-7d4b-4b1e-9f0a-2c6d8e9b1a7f",
"fullname":"Giulia Bianchi","email":"giulia.bianchi@example.it","phone":"+39 333 1234567",
"company":"Bianchi & Figli S.r.l.","city":"Milano","country":"Italy",
"createdAt":"2026-03-14T09:26:53.589Z","updatedAt":"2026-11-20T17:02:11.120Z",
"status":100,"id_project":"5b55e806c93dde00143163dd","createdBy":"5b55e806c93dde00143163aa",
"notes":"Met at the Milano trade fair; interested in the premium plan, asked for a demo in Italian.",
"properties":{"app_version":"2.4.1","ip":"93.41.12.7","plan":{"tier":"gold","seats":12},"newsletter":true},
"orders":[{"sku":"A-100","qty":2,"price":19.9,"date":"2026-10-01"},{"sku":"B-220","qty":1,"price":250,"date":"2026-11-02"}],
"tags":["lead","newsletter","vip","trade-fair-2026"],
"attributes":{"orders":"4","lifetime_value":1520.5,"last_order":"2026-11-02","language":"it","score":87,
"address":{"street":"Via Roma 1","zip":"20121","province":"MI"},"consent":{"email":true,"sms":false},
"country":"IT","source":"fair"}}`

func benchContactMap(b *testing.B) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(benchContact), &m); err != nil {
		b.Fatal(err)
	}
	return m
}

// closureMatch is the hand-written baseline: what a Go programmer would
// write for this one segment over the decoded map.
//
//go:noinline
func closureMatch(m map[string]any) bool {
	attrs, _ := m["attributes"].(map[string]any)
	if c, _ := attrs["country"].(string); c != "IT" {
		return false
	}
	tags, _ := m["tags"].([]any)
	found := false
	for _, t := range tags {
		if s, _ := t.(string); s == "vip" {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	switch o := attrs["orders"].(type) {
	case float64:
		return o >= 3
	case string:
		f, ok := parseNum(o)
		return ok && f >= 3
	}
	return false
}

func parseNum(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func BenchmarkClosure(b *testing.B) {
	m := benchContactMap(b)
	b.ReportAllocs()
	for b.Loop() {
		if !closureMatch(m) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	m := benchContactMap(b)
	prog, err := segmatch.Compile(benchSegment)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !prog.Match(m) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkExprLang: the same segment written as an expr-lang program, run
// on a reused VM.
func BenchmarkExprLang(b *testing.B) {
	m := benchContactMap(b)
	prog, err := expr.Compile(`attributes.country == "IT" && "vip" in tags && float(attributes.orders) >= 3`,
		expr.Env(m), expr.AsBool())
	if err != nil {
		b.Fatal(err)
	}
	var machine vm.VM
	b.ReportAllocs()
	for b.Loop() {
		out, err := machine.Run(prog, m)
		if err != nil || out != true {
			b.Fatal("no match", err)
		}
	}
}

func BenchmarkMatchJSON(b *testing.B) {
	raw := []byte(benchContact)
	prog, err := segmatch.Compile(benchSegment)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if ok, err := prog.MatchJSON(raw); !ok || err != nil {
			b.Fatal("no match", err)
		}
	}
}

// BenchmarkGJSON: three gjson.GetBytes lookups plus the comparisons, no
// validation: the naive raw-JSON baseline.
func BenchmarkGJSON(b *testing.B) {
	raw := []byte(benchContact)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if gjson.GetBytes(raw, "attributes.country").Str != "IT" {
			b.Fatal("no match")
		}
		found := false
		for _, t := range gjson.GetBytes(raw, "tags").Array() {
			if t.Str == "vip" {
				found = true
				break
			}
		}
		if !found {
			b.Fatal("no match")
		}
		if gjson.GetBytes(raw, "attributes.orders").Float() < 3 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkCore runs the five side by side in one process and logs each
// one's time as a ratio to its baseline:
//
//	go test -run '^$' -bench Core -benchmem .
func BenchmarkCore(b *testing.B) {
	subs := []struct {
		name string
		fn   func(*testing.B)
	}{
		{"closure", BenchmarkClosure}, {"match", BenchmarkMatch}, {"expr", BenchmarkExprLang},
		{"matchjson", BenchmarkMatchJSON}, {"gjson", BenchmarkGJSON},
	}
	ns := map[string]float64{}
	for _, s := range subs {
		b.Run(s.name, func(b *testing.B) {
			s.fn(b)
			ns[s.name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nMatch / hand-written closure: %.2fx (target <= 1.5)", ns["match"]/ns["closure"])
	fmt.Fprintf(&sb, "\nexpr-lang / Match:            %.2fx (target >= 2.5)", ns["expr"]/ns["match"])
	fmt.Fprintf(&sb, "\nMatchJSON / 3x gjson.GetBytes: %.2fx (target <= 1.0)", ns["matchjson"]/ns["gjson"])
	b.Log(sb.String())
}
