package oracle_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/oracle"
)

var now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// row is one condition, a contact (JSON) and the expected answer.
type row struct {
	name    string
	filter  string
	contact string
	want    bool
}

func (r row) run(t *testing.T) {
	t.Helper()
	var f filter.Filter
	require.NoError(t, json.Unmarshal([]byte(r.filter), &f), r.name)
	p, err := oracle.Compile(filter.Segment{Filters: []filter.Filter{f}}, now)
	require.NoError(t, err, r.name)
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.contact), &c), r.name)
	assert.Equal(t, r.want, p.Match(c), "%s\nsource: %s", r.name, p.Source())
}

func TestOperators(t *testing.T) {
	rows := []row{
		// eq / ne, rule 1, missing vs null.
		{"eq string", `{"field":"a","operator":"=","value":"IT"}`, `{"a":"IT"}`, true},
		{"eq string not number", `{"field":"a","operator":"eq","value":"34"}`, `{"a":34}`, false},
		{"eq number numeric string", `{"field":"a","operator":"eq","value":34}`, `{"a":"34.0"}`, true},
		{"eq number padded string", `{"field":"a","operator":"eq","value":34}`, `{"a":" 34"}`, false},
		{"eq number hex string", `{"field":"a","operator":"eq","value":16}`, `{"a":"0x10"}`, false},
		{"eq number overflow string", `{"field":"a","operator":"gt","value":1}`, `{"a":"1e400"}`, false},
		{"eq bool only bool", `{"field":"a","operator":"eq","value":true}`, `{"a":"true"}`, false},
		{"eq null missing", `{"field":"a","operator":"eq","value":null}`, `{}`, true},
		{"eq null null", `{"field":"a","operator":"is","value":null}`, `{"a":null}`, true},
		{"eq null array", `{"field":"a","operator":"eq","value":null}`, `{"a":[null]}`, false},
		{"eq array any", `{"field":"a","operator":"eq","value":"x"}`, `{"a":["y","x"]}`, true},
		{"eq nested array", `{"field":"a","operator":"eq","value":"x"}`, `{"a":[["x"]]}`, false},
		{"ne missing", `{"field":"a","operator":"!=","value":"x"}`, `{}`, true},
		{"ne array complement", `{"field":"a","operator":"ne","value":"x"}`, `{"a":["y","x"]}`, false},
		{"eq fold kelvin", `{"field":"a","operator":"eq","value":"k","ignore_case":true}`, `{"a":"\u212a"}`, true},
		{"eq fold long s", `{"field":"a","operator":"eq","value":"S","ignore_case":true}`, `{"a":"ſ"}`, true},
		{"eq no fold sharp s", `{"field":"a","operator":"eq","value":"SS","ignore_case":true}`, `{"a":"ß"}`, false},
		// order, between.
		{"gt numeric string", `{"field":"a","operator":">","value":3}`, `{"a":"3.5"}`, true},
		{"lt string bytewise", `{"field":"a","operator":"<","value":"b"}`, `{"a":"B"}`, true},
		{"gte string not number", `{"field":"a","operator":">=","value":"1"}`, `{"a":5}`, false},
		{"between inclusive", `{"field":"a","operator":"between","value":[1,3]}`, `{"a":3}`, true},
		{"not_between missing", `{"field":"a","operator":"not_between","value":[1,3]}`, `{}`, true},
		// in / not_in.
		{"in null matches missing", `{"field":"a","operator":"in","value":[null,"x"]}`, `{}`, true},
		{"in null not element", `{"field":"a","operator":"in","value":[null]}`, `{"a":[null]}`, false},
		{"in empty", `{"field":"a","operator":"any of","value":[]}`, `{"a":"x"}`, false},
		{"not_in empty", `{"field":"a","operator":"none of","value":[]}`, `{}`, true},
		{"in fold", `{"field":"a","operator":"in","value":["vip"],"ignore_case":true}`, `{"a":"VIP"}`, true},
		{"in numeric", `{"field":"a","operator":"in","value":[7]}`, `{"a":"+7"}`, true},
		// contains and affixes.
		{"contains substring", `{"field":"a","operator":"contains","value":"big"}`, `{"a":"bob@bigco.com"}`, true},
		{"contains element equal", `{"field":"a","operator":"has","value":"vi"}`, `{"a":["vip"]}`, false},
		{"contains element", `{"field":"a","operator":"has","value":["x","vip"]}`, `{"a":["vip"]}`, true},
		{"contains number field", `{"field":"a","operator":"contains","value":"3"}`, `{"a":34}`, false},
		{"contains fold", `{"field":"a","operator":"contains","value":"STRASSE","ignore_case":true}`, `{"a":"straße"}`, false},
		{"contains fold kelvin", `{"field":"a","operator":"contains","value":"ok","ignore_case":true}`, `{"a":"BO\u212a!"}`, true},
		{"not_contains missing", `{"field":"a","operator":"not_contains","value":"x"}`, `{}`, true},
		{"starts_with array", `{"field":"a","operator":"starts with","value":"b"}`, `{"a":["a","bc"]}`, true},
		{"ends_with fold", `{"field":"a","operator":"ends_with","value":"@BIGCO.COM","ignore_case":true}`, `{"a":"x@bigco.com"}`, true},
		{"ends_with fold multibyte", `{"field":"a","operator":"ends_with","value":"s","ignore_case":true}`, `{"a":"aſ"}`, true},
		// regex.
		{"regex unanchored", `{"field":"a","operator":"=~","value":"[0-9]+"}`, `{"a":"ab12"}`, true},
		{"regex fold", `{"field":"a","operator":"regex","value":"^s","ignore_case":true}`, `{"a":"ſx"}`, true},
		{"not_regex non string", `{"field":"a","operator":"!~","value":"."}`, `{"a":1}`, true},
		// presence and emptiness.
		{"is_set null", `{"field":"a","operator":"exists"}`, `{"a":null}`, false},
		{"is_not_set missing", `{"field":"a","operator":"is null"}`, `{}`, true},
		{"is_empty object", `{"field":"a","operator":"is_empty"}`, `{"a":{}}`, true},
		{"is_empty zero", `{"field":"a","operator":"is empty"}`, `{"a":0}`, false},
		{"is_not_empty string", `{"field":"a","operator":"is not empty"}`, `{"a":" "}`, true},
		// dates.
		{"before date only", `{"field":"d","operator":"before","value":"2026-03-15"}`, `{"d":"2026-03-14T23:59:59Z"}`, true},
		{"after offset", `{"field":"d","operator":"after","value":"2026-03-15T12:00:00Z"}`, `{"d":"2026-03-15T13:00:01+01:00"}`, true},
		{"after strict", `{"field":"d","operator":"after","value":"2026-03-15T12:00:00Z"}`, `{"d":"2026-03-15T12:00:00"}`, false},
		{"epoch ms contact", `{"field":"d","operator":"date_between","value":["2026-03-15","2026-03-16"]}`, `{"d":1773576000000}`, true},
		{"string not epoch", `{"field":"d","operator":"before","value":"2030-01-01"}`, `{"d":"1773576000000"}`, false},
		{"lowercase t z", `{"field":"d","operator":"after","value":"2026-01-01"}`, `{"d":"2026-03-15t12:00:00z"}`, true},
		{"fraction needs zone", `{"field":"d","operator":"after","value":"2026-01-01"}`, `{"d":"2026-03-15T12:00:00.5"}`, false},
		{"bad offset", `{"field":"d","operator":"after","value":"2026-01-01"}`, `{"d":"2026-03-15T12:00:00+24:00"}`, false},
		{"bad day", `{"field":"d","operator":"after","value":"2026-01-01"}`, `{"d":"2026-02-30"}`, false},
		{"within_last boundary", `{"field":"d","operator":"in the last","value":"7d"}`, `{"d":"2026-03-08T12:00:00Z"}`, true},
		{"within_last future", `{"field":"d","operator":"within_last","value":"7d"}`, `{"d":"2026-03-15T12:00:00.001Z"}`, false},
		{"within_last calendar month", `{"field":"d","operator":"within_last","value":"1mo"}`, `{"d":"2026-02-15T12:00:00Z"}`, true},
		{"not_within_last missing", `{"field":"d","operator":"not_within_last","value":"1y"}`, `{}`, true},
		{"within_next", `{"field":"d","operator":"in the next","value":"2h"}`, `{"d":"2026-03-15T14:00:00Z"}`, true},
		// semver.
		{"semver shorthand", `{"field":"v","operator":"semver_eq","value":"2"}`, `{"v":"2.0.0+build"}`, true},
		{"semver v prefix", `{"field":"v","operator":"semver_ne","value":"1.2.3"}`, `{"v":"v1.2.3"}`, true},
		{"semver prerelease", `{"field":"v","operator":"semver_lt","value":"1.2.3"}`, `{"v":"1.2.3-rc.1"}`, true},
		{"semver numeric ids", `{"field":"v","operator":"semver_gt","value":"1.2.3-alpha.9"}`, `{"v":"1.2.3-alpha.10"}`, true},
		{"semver short with pre", `{"field":"v","operator":"semver_lte","value":"3.0.0"}`, `{"v":"2-rc"}`, true}, // 2.0.0-rc
		{"semver short v with pre", `{"field":"v","operator":"semver_lte","value":"3.0.0"}`, `{"v":"v2-rc"}`, false},
		// sets.
		{"contains_any scalar", `{"field":"a","operator":"contains_any","value":["x",1]}`, `{"a":"1"}`, true},
		{"contains_all empty", `{"field":"a","operator":"contains_all","value":[]}`, `{"a":0}`, true},
		{"contains_all empty null", `{"field":"a","operator":"contains_all","value":[]}`, `{"a":null}`, false},
		{"contains_all", `{"field":"a","operator":"contains_all","value":["X","y"],"ignore_case":true}`, `{"a":["x","Y","z"]}`, true},
		{"contains_none missing", `{"field":"a","operator":"contains_none","value":["x"]}`, `{}`, true},
		// elem_match vs fan-out.
		{"elem_match one element", `{"field":"o","operator":"elem_match","value":{"match":"all","filters":[{"field":"sku","operator":"=","value":"A"},{"field":"qty","operator":">","value":2}]}}`, `{"o":[{"sku":"A","qty":1},{"sku":"B","qty":3}]}`, false},
		{"fan-out different elements", `{"match":"all","filters":[{"field":"o.sku","operator":"=","value":"A"},{"field":"o.qty","operator":">","value":2}]}`, `{"o":[{"sku":"A","qty":1},{"sku":"B","qty":3}]}`, true},
		{"elem_match scalar element", `{"field":"a","operator":"elem_match","value":{"match":"all","filters":[{"field":"","operator":">","value":5}]}}`, `{"a":[1,6]}`, true},
		{"elem_match object field", `{"field":"a","operator":"elem_match","value":{"match":"all","filters":[]}}`, `{"a":{"x":1}}`, false},
		// paths.
		{"escaped dot", `{"field":"a\\.b","operator":"=","value":1}`, `{"a.b":1,"a":{"b":2}}`, true},
		{"index", `{"field":"t.1","operator":"=","value":"y"}`, `{"t":["x","y"]}`, true},
		{"index key on object", `{"field":"t.1","operator":"=","value":"y"}`, `{"t":{"1":"y"}}`, true},
		{"escaped index fans out", `{"field":"t.\\0","operator":"=","value":"y"}`, `{"t":[{"0":"y"}]}`, true},
		{"length", `{"field":"t.#","operator":">","value":1}`, `{"t":["x","y"]}`, true},
		{"length of object", `{"field":"t.#","operator":"exists"}`, `{"t":{"#":1}}`, false},
		{"escaped hash key", `{"field":"t.\\#","operator":"=","value":1}`, `{"t":{"#":1}}`, true},
		{"fan-out nothing reached", `{"field":"o.x","operator":"is_set"}`, `{"o":[{"y":1}]}`, false},
		{"fan-out empty arrays reached", `{"field":"o.t","operator":"is_set"}`, `{"o":[{"t":[]}]}`, true},
		{"fan-out flattens", `{"field":"o.t","operator":"contains","value":"b"}`, `{"o":[{"t":["a"]},{"t":["b"]}]}`, true},
		{"fan-out null reached", `{"field":"o.t","operator":"eq","value":null}`, `{"o":[{"t":null}]}`, false},
		{"empty path", `{"field":"","operator":"is_empty"}`, `{}`, true},
		// cidr.
		{"cidr v4", `{"field":"ip","operator":"in_cidr","value":"10.0.0.0/8"}`, `{"ip":"10.1.2.3"}`, true},
		{"cidr mapped", `{"field":"ip","operator":"in_cidr","value":["192.168.0.0/16","10.0.0.0/8"]}`, `{"ip":"::ffff:10.1.2.3"}`, true},
		{"cidr single", `{"field":"ip","operator":"in_cidr","value":"2001:db8::1"}`, `{"ip":"2001:db8::2"}`, false},
		{"cidr not ip", `{"field":"ip","operator":"in_cidr","value":"0.0.0.0/0"}`, `{"ip":"300.1.1.1"}`, false},
		// expr.
		{"expr whole contact", `{"field":"","operator":"expr","value":"age > 30 && country == \"IT\""}`, `{"age":31,"country":"IT"}`, true},
		{"expr non-bool", `{"field":"","operator":"expr","value":"age"}`, `{"age":31}`, false},
		{"expr missing field", `{"field":"x","operator":"expr","value":"true"}`, `{}`, false},
		{"expr runtime error", `{"field":"","operator":"expr","value":"age > 30"}`, `{"age":"x"}`, false},
		// negate and groups.
		{"negate", `{"field":"a","operator":"eq","value":1,"negate":true}`, `{"a":1}`, false},
		{"none of group", `{"match":"any","negate":true,"filters":[{"field":"a","operator":"eq","value":1},{"field":"b","operator":"eq","value":1}]}`, `{"b":2}`, true},
		{"empty any group", `{"match":"any","filters":[]}`, `{}`, true},
	}
	for _, r := range rows {
		r.run(t)
	}
}

func TestEmptySegment(t *testing.T) {
	for _, m := range []filter.Match{filter.All, filter.Any, ""} {
		p, err := oracle.Compile(filter.Segment{Match: m}, now)
		require.NoError(t, err)
		assert.True(t, p.Match(map[string]any{}))
	}
}

func TestCompileErrors(t *testing.T) {
	for _, f := range []filter.Filter{
		filter.Cond("a", "opertor", 1),
		filter.Cond("a", "between", []any{3, 1}),
		filter.Cond("a", "between", []any{1, "z"}),
		filter.Cond("a", "regex", "("),
		filter.Cond("a", "before", "2026-13-01"),
		filter.Cond("a", "within_last", "7x"),
		filter.Cond("a", "semver_eq", "v1.2.3"),
		filter.Cond("a", "in_cidr", "10.0.0.0/33"),
		filter.Cond("a", "in", "x"),
		filter.Cond("a..b", "eq", 1),
	} {
		_, err := oracle.Compile(filter.Segment{Filters: []filter.Filter{f}}, now)
		assert.Error(t, err, "%s %s", f.Operator, f.Value)
	}
}

func TestSourceIsReadable(t *testing.T) {
	p, err := oracle.Compile(filter.Segment{Filters: []filter.Filter{
		filter.Cond("email", "ends with", "@bigco.com"),
	}}, now)
	require.NoError(t, err)
	assert.Contains(t, p.Source(), `field(contact, "email")`)
	assert.Contains(t, p.Source(), `endsWith "@bigco.com"`)
}

// TestRejectsInvalidTable checks that every row of the shared table of
// invalid segments is rejected before the oracle would evaluate it: by
// the decoder, or else by oracle.Compile. An invalid segment the oracle
// accepted would be one the property tests compare against an error.
func TestRejectsInvalidTable(t *testing.T) {
	compiled := 0
	for _, c := range cases.Invalids {
		seg, err := filter.DecodeSegment([]byte(c.Doc))
		if err != nil {
			continue // rejected by the shared decoder, before either backend
		}
		compiled++
		_, err = oracle.Compile(seg, now)
		assert.Error(t, err, c.Doc)
	}
	assert.Greater(t, compiled, 20, "rows that reach oracle.Compile")
}

// TestCompileLimits checks the size limits docs/semantics.md sets on patterns
// and expressions, and that an expression may call no function outside
// expr's builtins.
func TestCompileLimits(t *testing.T) {
	long := strings.Repeat("a", 4097)
	for i, f := range []filter.Filter{
		filter.Cond("a", "regex", long),
		filter.Cond("", "expr", "a == \""+long+"\""),
		filter.Cond("", "expr", "now() > 0"),
		filter.Cond("", "expr", "f(1)"),
		filter.Cond("", "expr", "a.b() == 1"),
	} {
		_, err := oracle.Compile(filter.Segment{Filters: []filter.Filter{f}}, now)
		assert.Error(t, err, "rejected %d: %s %.40s", i, f.Operator, f.Value)
	}
	folded := filter.Cond("a", "regex", long[:4096]) // the limit is on the pattern as written, before (?i)
	folded.IgnoreCase = true
	for i, f := range []filter.Filter{
		filter.Cond("a", "regex", long[:4096]),
		folded,
		filter.Cond("", "expr", "a == \""+long[:4089]+"\""), // 4096 bytes
		filter.Cond("", "expr", "len(tags) > 1 && upper(name) startsWith \"A\""),
	} {
		_, err := oracle.Compile(filter.Segment{Filters: []filter.Filter{f}}, now)
		assert.NoError(t, err, "accepted %d: %s %.40s", i, f.Operator, f.Value)
	}
}
