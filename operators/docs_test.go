package operators_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/segmatch/segmatch/operators"
)

// TestDocsListEveryOperator holds docs/semantics.md to the registry:
//
//   - its operator table (between the <!-- operators --> and
//     <!-- /operators --> markers) has one row per canonical operator,
//     in registry order, whose first cell is the canonical name then
//     exactly its aliases, each in backticks; no row names an operator
//     the registry lacks;
//   - every canonical name is in the heading of a section of its own
//     ("### ... `name` ..."), and every alias is mentioned, in backticks,
//     outside the table too (where the section says what it means).
//
// So an operator or alias added to the registry without documentation,
// or removed from it with its documentation left behind, fails here.
func TestDocsListEveryOperator(t *testing.T) {
	raw, err := os.ReadFile("../docs/semantics.md")
	if err != nil {
		t.Fatalf("the contract must be in the repository: %v", err)
	}
	// Fence lines (```json) would pair their backticks with the inline
	// code spans around them: drop them, keeping the blocks' text.
	var lines []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "```") {
			lines = append(lines, line)
		}
	}
	doc := strings.Join(lines, "\n")
	const open, end = "<!-- operators", "<!-- /operators -->"
	i, j := strings.Index(doc, open), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/semantics.md: no operator table between %q and %q", open, end)
	}
	table, rest := doc[i:j], doc[:i]+doc[j:]

	code := regexp.MustCompile("`([^`]+)`")
	spans := func(s string) []string {
		var out []string
		for _, m := range code.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}

	// The table's rows, by their first cell.
	var rows [][]string
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		rows = append(rows, spans(cells[1]))
	}
	canon := operators.Canonical()
	var listed []string
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		name := row[0]
		listed = append(listed, name)
		want := operators.SpellingsOf(name)
		if want == nil {
			if c, ok := operators.CanonicalName(name); ok {
				t.Errorf("operator table: row %q starts with an alias of %q; put the canonical name first", row, c)
			} else {
				t.Errorf("operator table: row %q names %q, which the registry does not have", row, name)
			}
			continue
		}
		if !slices.Equal(row, want) {
			t.Errorf("operator table: row of %q lists %q; the registry's spellings are %q", name, row, want)
		}
	}
	for _, name := range canon {
		if n := count(listed, name); n != 1 {
			t.Errorf("operator table: %q has %d rows; want 1 (with its aliases %q)", name, n, operators.SpellingsOf(name)[1:])
		}
	}
	if !slices.Equal(listed, canon) && len(listed) == len(canon) {
		t.Errorf("operator table: rows in the order %q; want the registry's %q", listed, canon)
	}

	// Sections: each canonical name in a heading, each alias in the text.
	var headed []string
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "### ") {
			headed = append(headed, spans(line)...)
		}
	}
	mentioned := spans(rest)
	for _, name := range canon {
		if !slices.Contains(headed, name) {
			t.Errorf("docs/semantics.md: no section heading names `%s`", name)
		}
		for _, alias := range operators.SpellingsOf(name)[1:] {
			if !slices.Contains(mentioned, alias) {
				t.Errorf("docs/semantics.md: alias `%s` of %s is in the table only; say it in the operator's section", alias, name)
			}
		}
	}
	// And, bluntly, every spelling the decoder accepts is on the page.
	all := spans(doc)
	for _, s := range operators.Spellings() {
		if !slices.Contains(all, s) {
			t.Errorf("docs/semantics.md does not mention the operator spelling `%s`", s)
		}
	}
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}
