package segmatch_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// exampleContacts are, per example segment of testdata/examples, contacts
// it must match (in) and must not (out). The clock is exampleNow.
var exampleContacts = map[string]struct{ in, out []string }{
	"italian-vip.json": {
		in: []string{
			`{"tags":["VIP","newsletter"],"attributes":{"country":"IT","orders":3}}`,
			`{"tags":"vip-gold","attributes":{"country":"IT","orders":"12"}}`,
		},
		out: []string{
			`{"tags":["vip"],"attributes":{"country":"IT","orders":2}}`,
			`{"tags":["vip"],"attributes":{"country":"FR","orders":9}}`,
			`{"attributes":{"country":"IT","orders":9}}`,
		},
	},
	"churn-risk.json": {
		in: []string{
			`{"attributes":{"last_order_at":"2026-05-01T10:00:00Z"},"tags":["customer"]}`,
			`{"attributes":{"last_order_at":"2025-12-24 09:30:00+01"}}`,
		},
		out: []string{
			`{"attributes":{"last_order_at":"2026-11-20"},"tags":[]}`,
			`{"attributes":{"last_order_at":"2026-01-01"},"tags":["churned"]}`,
			`{"attributes":{"last_order_at":null}}`,
			`{}`,
		},
	},
	"beta-testers.json": {
		in: []string{
			`{"email":"ada@bigco.com","last_ip":"203.0.113.7","properties":{"app_version":"2.1.0"}}`,
			`{"email":"bob@bigco.com","properties":{"app_version":"3"}}`,
		},
		out: []string{
			`{"email":"ada@bigco.com","properties":{"app_version":"2.1.0-rc.1"}}`,
			`{"email":"QA@Example.COM","properties":{"app_version":"2.4.0"}}`,
			`{"email":"ada@bigco.com","last_ip":"10.2.3.4","properties":{"app_version":"2.4.0"}}`,
			`{"email":"ada@bigco.com","properties":{"app_version":"v2.4.0"}}`,
		},
	},
	"repeat-buyer.json": {
		in: []string{
			`{"orders":[{"sku":"B","qty":9,"at":"2026-02-01"},{"sku":"A","qty":2,"at":"2026-03-04T10:00:00Z"}]}`,
		},
		out: []string{
			`{"orders":[{"sku":"A","qty":1,"at":"2026-03-04"},{"sku":"B","qty":5,"at":"2026-03-04"}]}`,
			`{"orders":[{"sku":"A","qty":3,"at":"2025-12-31"}]}`,
			`{"orders":{"sku":"A","qty":3,"at":"2026-03-04"}}`,
			`{}`,
		},
	},
	"newsletter-europe.json": {
		in: []string{
			`{"country":"it","attributes":{"newsletter":true}}`,
			`{"country":"US","tags":["eu","newsletter","x"]}`,
		},
		out: []string{
			`{"country":"IT","attributes":{"newsletter":"true"}}`,
			`{"country":"US","attributes":{"newsletter":true},"tags":["newsletter"]}`,
		},
	},
}

var exampleNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// TestExamples decodes every segment of testdata/examples strictly (as the
// API and the CLI do), compiles it, checks that it can be told apart from
// others (a name), that it matches the contacts listed for it, and that
// docs/semantics.md shows it as it is written.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "examples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("testdata/examples holds %d segments; want at least 3", len(files))
	}
	doc, err := os.ReadFile(filepath.Join("docs", "semantics.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		base := filepath.Base(file)
		seen[base] = true
		t.Run(base, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			seg, err := filter.DecodeSegment(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if seg.Name == "" {
				t.Errorf("no name: an example must be a segment the store and the API accept")
			}
			prog, err := segmatch.Compile(seg, segmatch.WithNow(func() time.Time { return exampleNow }))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if !strings.Contains(string(doc), strings.TrimSpace(string(raw))) {
				t.Errorf("docs/semantics.md does not show %s as it is written", file)
			}
			contacts, ok := exampleContacts[base]
			if !ok {
				t.Fatalf("no contacts for %s in exampleContacts", base)
			}
			for _, want := range []bool{true, false} {
				list := contacts.in
				if !want {
					list = contacts.out
				}
				for _, c := range list {
					got, err := prog.MatchJSON([]byte(c))
					if err != nil {
						t.Fatalf("MatchJSON(%s): %v", c, err)
					}
					if got != want {
						t.Errorf("MatchJSON(%s) = %v, want %v", c, got, want)
					}
				}
			}
		})
	}
	for base := range exampleContacts {
		if !seen[base] {
			t.Errorf("exampleContacts names %s, which is not in testdata/examples", base)
		}
	}
}
