// Package cases is the one table of segment/contact cases that every
// backend runs (Program.Match, Program.MatchJSON, the engine, the expr
// oracle, SQL pushdown): a backend that disagrees with a row fails.
// Each row is a filter (or a whole segment) and a contact, with the answer
// docs/semantics.md gives.
package cases

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// Now is the clock every row is evaluated at.
var Now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// Case is one row.
type Case struct {
	Name    string
	Segment filter.Segment
	Contact string // a JSON object
	Want    bool
}

// ContactMap decodes the contact as encoding/json does.
func (c Case) ContactMap() map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(c.Contact), &m); err != nil {
		panic(fmt.Sprintf("case %s: bad contact: %v", c.Name, err))
	}
	return m
}

type pair struct {
	contact string
	want    bool
}

// T and F are a contact the filter matches / does not match.
func T(contact string) pair { return pair{contact, true} }
func F(contact string) pair { return pair{contact, false} }

// group is the rows of one filter (or segment) document.
type group struct {
	doc   string // a filter object, or a segment object when it has "filters" at top and no "operator"
	pairs []pair
}

func on(doc string, pairs ...pair) group { return group{doc, pairs} }

// All returns every row, decoded; it panics on a malformed row (a bug in
// the table, caught by the table's own test).
func All() []Case {
	var out []Case
	for _, g := range table {
		seg := toSegment(g.doc)
		for i, p := range g.pairs {
			out = append(out, Case{
				Name:    fmt.Sprintf("%s|%d %s", compact(g.doc), i, compact(p.contact)),
				Segment: seg,
				Contact: p.contact,
				Want:    p.want,
			})
		}
	}
	return out
}

func compact(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 90 {
		s = s[:90] + "..."
	}
	return s
}

func toSegment(doc string) filter.Segment {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &probe); err != nil {
		panic("cases: " + doc + ": " + err.Error())
	}
	_, isSeg := probe["name"]
	if isSeg {
		seg, err := filter.DecodeSegment([]byte(doc))
		if err != nil {
			panic("cases: " + doc + ": " + err.Error())
		}
		return seg
	}
	var f filter.Filter
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		panic("cases: " + doc + ": " + err.Error())
	}
	return filter.Segment{ID: "seg", Name: "case", Filters: []filter.Filter{f}}
}
