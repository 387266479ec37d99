package sample

import (
	"fmt"
	"time"

	"github.com/segmatch/segmatch/filter"
)

// Helpers that keep the segment table below readable.

func cond(field, op string, value any) filter.Filter { return filter.Cond(field, op, value) }
func novalue(field, op string) filter.Filter         { return filter.CondNoValue(field, op) }
func all(fs ...filter.Filter) filter.Filter          { return filter.Group(filter.All, fs...) }
func anyOf(fs ...filter.Filter) filter.Filter        { return filter.Group(filter.Any, fs...) }

func fold(f filter.Filter) filter.Filter { f.IgnoreCase = true; return f }
func not(f filter.Filter) filter.Filter  { f.Negate = true; return f }

// segmentDefs is the sample audience catalogue: what a marketing team
// would really build on Tiledesk leads. Together the segments use every
// canonical operator of docs/semantics.md, most Tiledesk aliases, nested and
// negated groups, ignore_case, fan-out and elem_match over orders, relative
// dates, SemVer, CIDR and expr (sample_test.go checks the coverage).
var segmentDefs = []struct {
	name    string
	match   filter.Match
	filters []filter.Filter
}{
	{"Italian VIPs", filter.All, []filter.Filter{
		cond("country", "=", "IT"),
		cond("tags", "contains", "vip"),
		anyOf(
			cond("attributes.orders_count", ">=", 3),
			fold(cond("email", "ends with", "@bigco.com")),
		),
	}},
	{"Churn risk: no order in 90 days", filter.All, []filter.Filter{
		novalue("attributes.last_order_at", "is not null"),
		cond("attributes.last_order_at", "not_within_last", "90d"),
		cond("tags", "has not", "churned"),
	}},
	{"Beta app users (semver >= 2.1.0)", filter.All, []filter.Filter{
		cond("tags", "has", "beta"),
		cond("properties.app_version", "semver_gte", "2.1.0"),
	}},
	{"Office network (in_cidr)", filter.All, []filter.Filter{
		cond("properties.ip", "in_cidr", []string{"10.20.0.0/16", "2001:db8:42::/48"}),
	}},
	{"New signups (last 30 days)", filter.All, []filter.Filter{
		cond("createdAt", "in the last", "30d"),
	}},
	{"Renewal due in the next 2 weeks", filter.All, []filter.Filter{
		cond("attributes.renewal_date", "in the next", "2w"),
		cond("properties.plan.tier", "is not", "free"),
	}},
	{"High spenders", filter.All, []filter.Filter{
		cond("attributes.lifetime_value", ">", 500),
	}},
	{"Age 30-45", filter.All, []filter.Filter{
		cond("attributes.age", "between", []int{30, 45}),
	}},
	{"Outside the 25-60 core (or age unknown)", filter.All, []filter.Filter{
		cond("attributes.age", "not_between", []int{25, 60}),
	}},
	{"Eurozone customers", filter.All, []filter.Filter{
		cond("country", "any of", []string{"IT", "DE", "FR", "ES"}),
	}},
	{"Rest of the world", filter.All, []filter.Filter{
		cond("country", "none of", []string{"IT", "DE", "FR", "ES", "GB", "US"}),
	}},
	{"Free-mail users", filter.All, []filter.Filter{
		fold(cond("email", "ends_with", []string{"@gmail.com", "@yahoo.com", "@outlook.com", "@hotmail.com"})),
	}},
	{"No phone on file", filter.All, []filter.Filter{
		novalue("phone", "is empty"),
	}},
	{"B2B leads (company e-mail)", filter.All, []filter.Filter{
		novalue("company", "is not empty"),
		fold(cond("email", "not_regex", `@(gmail|yahoo|outlook|hotmail|libero|icloud)\.`)),
	}},
	{"UK mobile numbers", filter.All, []filter.Filter{
		cond("phone", "matches", `^\+44 [67]`),
	}},
	{"Real people (no test accounts)", filter.All, []filter.Filter{
		fold(cond("fullname", "not_contains", "test")),
		cond("email", "!~", `@example\.`),
		novalue("email", "exists"),
	}},
	{"Doctors", filter.All, []filter.Filter{
		cond("fullname", "starts with", "Dr."),
	}},
	{"Wholesale bulk buyers (elem_match)", filter.All, []filter.Filter{
		cond("orders", "elem_match", all(
			cond("sku", "starts_with", "WH-"),
			cond("qty", ">=", 50),
		)),
	}},
	{"Big single-line orders (fan-out)", filter.All, []filter.Filter{
		cond("orders.price", ">", 200),
	}},
	{"Newsletter subscribers with consent", filter.All, []filter.Filter{
		cond("attributes.newsletter", "is", true),
		cond("attributes.gdpr_consent", "==", true),
	}},
	{"Missing GDPR consent", filter.Any, []filter.Filter{
		novalue("attributes.gdpr_consent", "is null"),
		cond("attributes.gdpr_consent", "equals", false),
	}},
	{"Legacy app (semver < 2.0.0)", filter.All, []filter.Filter{
		cond("properties.app_version", "semver_lt", "2.0.0"),
	}},
	{"Stuck on 2.1.0", filter.All, []filter.Filter{
		cond("properties.app_version", "semver_eq", "2.1.0"),
	}},
	{"Pre-release testers", filter.All, []filter.Filter{
		cond("properties.app_version", "semver_gt", "2.1.3"),
		cond("properties.app_version", "semver_lte", "3.0.0-rc.1"),
		cond("properties.app_version", "semver_ne", "2.2.0"),
	}},
	{"Signed up in Q1 2026", filter.All, []filter.Filter{
		cond("createdAt", "date_between", []string{"2026-01-01", "2026-03-31T23:59:59Z"}),
	}},
	{"Early adopters (before 2025)", filter.All, []filter.Filter{
		cond("createdAt", "date before", "2025-01-01"),
		cond("tags", "contains_any", []string{"beta", "early-access"}),
	}},
	{"Power users", filter.All, []filter.Filter{
		cond("tags", "contains_all", []string{"newsletter", "beta"}),
		cond("tags.#", ">=", 3),
	}},
	{"Clean audience", filter.All, []filter.Filter{
		cond("tags", "contains_none", []string{"churned", "blocked"}),
		novalue("email", "is set"),
		cond("attributes.source", "not equals", nil),
	}},
	{"Engaged (expr)", filter.All, []filter.Filter{
		cond("", "expr", `(attributes.score ?? 0) > 80 && len(tags) >= 2`),
	}},
	{"Milan area (ZIP 201xx)", filter.All, []filter.Filter{
		cond("attributes.address.zip", "starts_with", "201"),
		fold(cond("city", "eq", "milano")),
	}},
	{"Enterprise accounts", filter.All, []filter.Filter{
		cond("properties.plan.tier", "=", "enterprise"),
		cond("properties.plan.seats", "gt", 10),
	}},
	{"Young, not on a paid plan", filter.All, []filter.Filter{
		cond("attributes.age", "<", 25),
		cond("properties.plan.tier", "!=", "pro"),
		cond("properties.plan.tier", "<>", "enterprise"),
	}},
	{"Low-value repeat customers", filter.All, []filter.Filter{
		cond("attributes.lifetime_value", "<=", 100),
		cond("attributes.orders_count", "gte", 2),
		cond("attributes.orders_count", "lt", 10),
	}},
	{"Returning customers (not new, not on trial)", filter.All, []filter.Filter{
		cond("attributes.last_order_at", "within_last", "6mo"),
		not(anyOf(
			cond("createdAt", "within_last", "30d"),
			cond("tags", "contains", "trial"),
		)),
	}},
	{"Ordered since June 2026", filter.All, []filter.Filter{
		cond("attributes.last_order_at", "date after", "2026-06-01T00:00:00Z"),
	}},
	{"Signed up after Black Friday 2025", filter.All, []filter.Filter{
		cond("createdAt", "after", "2025-11-28T00:00:00.000Z"),
		cond("createdAt", "before", "2026-01-01T00:00:00+01:00"),
	}},
	{"Sales follow-ups (notes)", filter.All, []filter.Filter{
		novalue("attributes.notes", "is_not_empty"),
		cond("attributes.notes", "=~", `(?i)demo|invoice`),
	}},
	{"German big cities", filter.All, []filter.Filter{
		fold(cond("attributes.address.city", "in", []string{"berlin", "münchen", "hamburg"})),
	}},
	{"Unattributed leads", filter.All, []filter.Filter{
		novalue("attributes.source", "is_not_set"),
	}},
	{"No channel preference", filter.All, []filter.Filter{
		novalue("attributes.preferences", "is_empty"),
		novalue("attributes.preferences.channel", "not exists"),
		novalue("attributes.age", "is not set"),
	}},
	{"Mobile app users", filter.All, []filter.Filter{
		cond("properties.platform", "not_in", []string{"web"}),
		novalue("properties.app_version", "is_set"),
	}},
	{"Loyal customers", filter.Any, []filter.Filter{
		cond("orders.#", ">=", 5),
		all(
			cond("attributes.orders_count", ">=", 8),
			cond("attributes.lifetime_value", "gte", 300),
		),
	}},
	{"Score 40-60 but not partners", filter.All, []filter.Filter{
		cond("attributes.score", "gte", 40),
		cond("attributes.score", "<=", 60),
		not(cond("tags", "contains", "partner")),
		cond("lead_id", "starts with", []string{"wab-", "support-group-"}),
	}},
}

// segmentIDBase is the prefix of the sample segments' 24-hex ObjectIds.
const segmentIDBase = "65f1c0ffee0000000000"

// project and creator are the Tiledesk ids the sample segments carry.
const (
	project = "5b55e806c93dde00143163dd"
	creator = "5b55e806c93dde00143163aa"
)

// segments builds the catalogue as filter.Segment values.
func segments() []filter.Segment {
	out := make([]filter.Segment, len(segmentDefs))
	for i, d := range segmentDefs {
		at := Now.Add(-time.Duration(len(segmentDefs)-i) * 24 * time.Hour)
		out[i] = filter.Segment{
			ID:        fmt.Sprintf("%s%04x", segmentIDBase, 0xa001+i),
			Name:      d.name,
			Match:     d.match,
			Filters:   d.filters,
			IDProject: project,
			CreatedBy: creator,
			CreatedAt: at,
			UpdatedAt: at,
			Status:    filter.StatusActive,
		}
	}
	return out
}

// invalidSegments is a JSON array of broken segments, one mistake each
// (the last has several), for `segmatch validate` demos and tests. It is
// raw text because most of these mistakes cannot be built as a
// filter.Segment.
const invalidSegments = `[
  {"_id": "65f1c0ffee0000000000b001", "name": "Unknown operator", "match": "all", "filters": [
    {"field": "country", "operator": "nope", "value": "IT"}]},
  {"_id": "65f1c0ffee0000000000b002", "name": "Bad regex", "match": "all", "filters": [
    {"field": "email", "operator": "matches", "value": "(unclosed"}]},
  {"_id": "65f1c0ffee0000000000b003", "name": "Typo in a key", "match": "all", "filters": [
    {"field": "country", "opertor": "=", "value": "IT"}]},
  {"_id": "65f1c0ffee0000000000b004", "name": "Bad date", "match": "all", "filters": [
    {"field": "createdAt", "operator": "after", "value": "2026-13-45"}]},
  {"_id": "65f1c0ffee0000000000b005", "name": "Bad CIDR", "match": "all", "filters": [
    {"field": "properties.ip", "operator": "in_cidr", "value": ["10.20.0.0/16", "10.0.0.0/33"]}]},
  {"_id": "65f1c0ffee0000000000b006", "name": "Bad match", "match": "most", "filters": [
    {"field": "tags", "operator": "contains", "value": "vip"}]},
  {"_id": "65f1c0ffee0000000000b007", "name": "Leading v is not SemVer", "match": "all", "filters": [
    {"field": "properties.app_version", "operator": "semver_gte", "value": "v2.1.0"}]},
  {"_id": "65f1c0ffee0000000000b008", "name": "Several problems", "match": "any", "filters": [
    {"field": "createdAt", "operator": "in the last", "value": "7 days"},
    {"match": "all", "filters": [
      {"field": "attributes.age", "operator": "between", "value": [40]},
      {"field": "", "operator": "expr", "value": "attributes.score +"}]}]}
]
`
