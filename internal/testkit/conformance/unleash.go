// Package conformance runs third-party conformance suites against
// segmatch. The Unleash client specification (feature-toggle constraints:
// the same field/operator/value filters our segments are made of) is
// translated here into segments and contacts; unleash_test.go checks every
// expected result.
//
// Where docs/semantics.md deliberately differs from Unleash, the translation
// says so in a Deviation instead of hiding it: Unleash evaluates a
// constraint it cannot understand (an unknown operator, an invalid regex,
// a value that is not a number, a date or SemVer) to false at run time,
// whereas segmatch rejects such a segment when it is compiled (docs/semantics.md
// rule 5). The adapter therefore turns exactly those constraints into a
// constant-false filter, which is what Unleash computes for them.
package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/segmatch/segmatch"
	"github.com/segmatch/segmatch/filter"
)

// UnleashSuite is one specification file.
type UnleashSuite struct {
	Name  string `json:"name"`
	State struct {
		Features []UnleashFeature `json:"features"`
	} `json:"state"`
	Tests []UnleashTest `json:"tests"`
}

// UnleashFeature is a feature toggle: enabled when any strategy holds.
type UnleashFeature struct {
	Name       string            `json:"name"`
	Enabled    bool              `json:"enabled"`
	Strategies []UnleashStrategy `json:"strategies"`
}

// UnleashStrategy holds when its own condition (by name and parameters)
// and all its constraints hold.
type UnleashStrategy struct {
	Name        string              `json:"name"`
	Parameters  map[string]any      `json:"parameters"`
	Constraints []UnleashConstraint `json:"constraints"`
}

// UnleashConstraint is {contextName, operator, values | value, inverted?,
// caseInsensitive?}.
type UnleashConstraint struct {
	ContextName     string   `json:"contextName"`
	Operator        string   `json:"operator"`
	Values          []string `json:"values"`
	Value           *string  `json:"value"`
	Inverted        bool     `json:"inverted"`
	CaseInsensitive bool     `json:"caseInsensitive"`
}

// UnleashTest is one expected result for a context.
type UnleashTest struct {
	Description    string         `json:"description"`
	Context        map[string]any `json:"context"`
	ToggleName     string         `json:"toggleName"`
	ExpectedResult bool           `json:"expectedResult"`
}

// Deviation records a constraint the adapter replaced because docs/semantics.md
// deliberately differs from Unleash there.
type Deviation struct {
	Feature string
	Path    string // where in the feature: strategies/0/constraints/1
	Reason  string
}

func (d Deviation) String() string { return d.Feature + " " + d.Path + ": " + d.Reason }

// unleashOps maps Unleash operators to segmatch canonical operators.
var unleashOps = map[string]string{
	"IN": "in", "NOT_IN": "not_in",
	"STR_STARTS_WITH": "starts_with", "STR_ENDS_WITH": "ends_with", "STR_CONTAINS": "contains",
	"NUM_EQ": "eq", "NUM_GT": "gt", "NUM_GTE": "gte", "NUM_LT": "lt", "NUM_LTE": "lte",
	"DATE_AFTER": "after", "DATE_BEFORE": "before",
	"SEMVER_EQ": "semver_eq", "SEMVER_GT": "semver_gt", "SEMVER_GTE": "semver_gte",
	"SEMVER_LT": "semver_lt", "SEMVER_LTE": "semver_lte",
	"REGEX": "regex", "IN_CIDR": "in_cidr",
}

// constFalse is a filter that no contact satisfies: a negated empty group
// (an empty group matches every contact: docs/semantics.md, "Filters:
// conditions and groups").
func constFalse() filter.Filter {
	return filter.Filter{Match: filter.Any, Filters: []filter.Filter{}, Negate: true}
}

// FeatureSegment translates a feature into a segment. A feature with one
// strategy is an `all` segment of that strategy's conditions; several
// strategies are `any` of their `all` groups; a feature without strategies
// matches every context; a disabled feature none. The error is for what
// the adapter does not know how to translate (a strategy type other than
// default, userWithId, remoteAddress): the test reports it, never skips it.
func FeatureSegment(f UnleashFeature) (filter.Segment, []Deviation, error) {
	seg := filter.Segment{Name: f.Name, Match: filter.All, Filters: []filter.Filter{}}
	if !f.Enabled {
		seg.Filters = append(seg.Filters, constFalse())
		return seg, nil, nil
	}
	var devs []Deviation
	var groups []filter.Filter
	for i, s := range f.Strategies {
		fs, d, err := strategyFilters(f.Name, fmt.Sprintf("strategies/%d", i), s)
		if err != nil {
			return seg, nil, err
		}
		devs = append(devs, d...)
		groups = append(groups, filter.Group(filter.All, fs...))
	}
	switch len(groups) {
	case 0:
		// No strategy: enabled for everyone (an empty segment matches all).
	case 1:
		seg.Filters = groups[0].Filters
	default:
		seg.Match = filter.Any
		seg.Filters = groups
	}
	return seg, devs, nil
}

// strategyFilters is a strategy's own condition followed by its
// constraints.
func strategyFilters(feature, path string, s UnleashStrategy) ([]filter.Filter, []Deviation, error) {
	fs := []filter.Filter{}
	switch s.Name {
	case "default":
		// No condition of its own.
	case "userWithId":
		// The standard strategy: the userId is one of a comma-separated list.
		ids := []string{}
		for _, id := range strings.Split(fmt.Sprint(s.Parameters["userIds"]), ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		fs = append(fs, filter.Cond("userId", "in", ids))
	case "remoteAddress":
		// The standard strategy: remoteAddress is one of comma-separated IPs.
		var ips []string
		for _, ip := range strings.Split(fmt.Sprint(s.Parameters["IPs"]), ",") {
			if ip = strings.TrimSpace(ip); ip != "" {
				ips = append(ips, ip)
			}
		}
		fs = append(fs, filter.Cond("remoteAddress", "in_cidr", ips))
	default:
		return nil, nil, fmt.Errorf("%s %s: strategy %q is not translated by the adapter", feature, path, s.Name)
	}
	var devs []Deviation
	for j, c := range s.Constraints {
		f, dev := constraintFilter(c)
		if dev != "" {
			devs = append(devs, Deviation{feature, fmt.Sprintf("%s/constraints/%d", path, j), dev})
		}
		fs = append(fs, f)
	}
	return fs, devs, nil
}

// constraintFilter translates one constraint. When docs/semantics.md and
// Unleash deliberately differ it returns what Unleash computes (a
// constant-false filter, or the value with its invalid entries dropped)
// and says why in deviation.
func constraintFilter(c UnleashConstraint) (f filter.Filter, deviation string) {
	op, ok := unleashOps[c.Operator]
	if !ok {
		// segmatch: an unknown operator is a compile error (a typo must not
		// silently change an audience). Unleash: the constraint is false,
		// inverted or not.
		return constFalse(), fmt.Sprintf("unknown operator %q: constant false, as Unleash evaluates it", c.Operator)
	}
	field := fieldPath(c.ContextName)
	var value any
	switch c.Operator {
	case "IN", "NOT_IN", "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS":
		value = nonNil(c.Values)
	case "IN_CIDR":
		// segmatch: an invalid CIDR is a compile error. Unleash ignores the
		// entries it cannot parse and matches on the others (none left:
		// nothing matches, as an empty in_cidr list does).
		var kept []string
		for _, v := range c.Values {
			if validNet(v) {
				kept = append(kept, v)
			} else {
				deviation = appendReason(deviation, fmt.Sprintf("invalid CIDR %q dropped, as Unleash ignores it", v))
			}
		}
		value = nonNil(kept)
	case "NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE":
		// Unleash numbers travel as strings; the value is parsed as a
		// number so that rule 1 compares numerically (a context "12.0"
		// equals "12").
		n, err := strconv.ParseFloat(str(c.Value), 64)
		if err != nil {
			return constFalse(), fmt.Sprintf("value %q is not a number: constant false, as Unleash evaluates it", str(c.Value))
		}
		value = n
	default: // DATE_*, SEMVER_*, REGEX: one string
		value = str(c.Value)
	}
	f = filter.Cond(field, op, value)
	f.Negate = c.Inverted
	// Unleash applies caseInsensitive to the string operators and REGEX
	// only (IN / NOT_IN stay exact).
	switch c.Operator {
	case "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS", "REGEX":
		f.IgnoreCase = c.CaseInsensitive
	}
	if err := compileOne(f); err != nil {
		switch {
		case errors.Is(err, segmatch.ErrBadValue) && (c.Operator == "REGEX" || strings.HasPrefix(c.Operator, "SEMVER_") || strings.HasPrefix(c.Operator, "DATE_")):
			// segmatch: a bad regex (RE2 has no lookahead or backreference),
			// a value that is not SemVer 2.0.0 (a leading "v") or not a date
			// is a compile error. Unleash: the constraint is false.
			return constFalse(), appendReason(deviation, fmt.Sprintf("%s value %q does not compile (%v): constant false, as Unleash evaluates it", c.Operator, str(c.Value), err))
		default:
			// Anything else is a translation bug or a core bug: keep the
			// filter so that the test's compile step reports it.
		}
	}
	return f, deviation
}

// compileOne compiles a one-filter segment.
func compileOne(f filter.Filter) error {
	_, err := segmatch.Compile(filter.Segment{Filters: []filter.Filter{f}})
	return err
}

// fieldPath writes an Unleash context name as a segmatch field path:
// context names are flat keys, so dots, backslashes and a lone "#" are
// escaped.
func fieldPath(name string) string {
	if name == "#" {
		return `\#`
	}
	r := strings.NewReplacer(`\`, `\\`, `.`, `\.`)
	return r.Replace(name)
}

func validNet(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func appendReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Contact builds the segmatch contact of an Unleash context: its
// top-level fields (environment, userId, appName, currentTime,
// remoteAddress, ...) and the members of its properties, flattened beside
// them. A top-level field wins over a property of the same name, as in
// Unleash, where the standard context fields are read from the top level.
func Contact(ctx map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range ctx {
		if k != "properties" {
			c[k] = v
		}
	}
	if props, ok := ctx["properties"].(map[string]any); ok {
		for k, v := range props {
			if _, taken := c[k]; !taken {
				c[k] = v
			}
		}
	}
	return c
}

// DecodeSuite reads a specification file.
func DecodeSuite(data []byte) (*UnleashSuite, error) {
	var s UnleashSuite
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
