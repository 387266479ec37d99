package cases

import "github.com/segmatch/segmatch/filter"

// Invalid is a segment document with the problems Compile (after
// decoding) must report: the JSON Pointer and the sentinel of each.
type Invalid struct {
	Doc    string
	Errors []Problem
}

// Problem is one expected error. Says, when set, is text its message
// must contain (a "did you mean" suggestion).
type Problem struct {
	Path     string
	Sentinel error
	Says     string
}

func p(path string, sentinel error) Problem { return Problem{Path: path, Sentinel: sentinel} }

func says(path string, sentinel error, text string) Problem {
	return Problem{Path: path, Sentinel: sentinel, Says: text}
}

func bad(doc string, problems ...Problem) Invalid { return Invalid{doc, problems} }

// Invalids is the table of invalid segments. A problem found while
// decoding (shape) and one found while compiling (meaning) are both
// listed; decoding stops the pipeline, so a row mixes them only when
// decoding succeeds.
var Invalids = []Invalid{
	bad(`{"filters":[{"field":"a","operator":"nope","value":1}]}`, p("/filters/0/operator", filter.ErrUnknownOperator)),
	bad(`{"filters":[{"field":"a","opertor":"eq","value":1}]}`, p("/filters/0/opertor", filter.ErrUnknownKey), p("/filters/0", filter.ErrBadShape)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":1,"colour":"red"}]}`, p("/filters/0/colour", filter.ErrUnknownKey)),
	bad(`{"filters":[{"field":"a","operator":"eq","operator":"ne","value":1}]}`, p("/filters/0/operator", filter.ErrDuplicateKey)),
	bad(`{"match":"most","filters":[]}`, p("/match", filter.ErrBadMatch)),
	bad(`{"match":"ALL","filters":[]}`, p("/match", filter.ErrBadMatch)),
	bad(`{"filters":[{"match":"either","filters":[]}]}`, p("/filters/0/match", filter.ErrBadMatch)),
	bad(`{"filters":{"field":"a"}}`, p("/filters", filter.ErrBadShape)),
	bad(`{"filters":[42]}`, p("/filters/0", filter.ErrBadShape)),
	bad(`{"filters":[{"field":5,"operator":"eq","value":1}]}`, p("/filters/0/field", filter.ErrBadShape)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":1,"negate":"yes"}]}`, p("/filters/0/negate", filter.ErrBadShape)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":1,"ignore_case":1}]}`, p("/filters/0/ignore_case", filter.ErrBadShape)),
	bad(`{"filters":[{"filters":[],"field":"a"}]}`, p("/filters/0/field", filter.ErrUnknownKey)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":1,"match":"all"}]}`, p("/filters/0/match", filter.ErrUnknownKey)),
	bad(`{"filters":[{"field":"a..b","operator":"eq","value":1}]}`, p("/filters/0/field", filter.ErrBadField)),
	bad(`{"filters":[{"field":"a.#.b","operator":"eq","value":1}]}`, p("/filters/0/field", filter.ErrBadField)),
	bad(`{"filters":[{"field":"a\\","operator":"eq","value":1}]}`, p("/filters/0/field", filter.ErrBadField)),
	bad(`{"filters":[{"field":"a","operator":"eq"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":[1]}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":{"x":1}}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"gt","value":true}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"gt","value":null}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"between","value":[1]}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"between","value":[1,"b"]}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"between","value":[5,1]}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"between","value":[1,{}]}]}`, p("/filters/0/value/1", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"in","value":"IT"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"in","value":["IT",["FR"]]}]}`, p("/filters/0/value/1", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"contains","value":5}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"contains","value":["a",5]}]}`, p("/filters/0/value/1", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"starts_with"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"regex","value":"(a"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"regex","value":"(?=a)b"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"regex","value":5}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"before","value":"yesterday"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"after","value":"2026-13-01"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"after","value":"2026-02-29"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"date_between","value":["2026-01-01","nope"]}]}`, p("/filters/0/value/1", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"date_between","value":["2026-02-01","2026-01-01"]}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"within_last","value":"7 days"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"within_last","value":"300000000000s"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"within_last","value":"-7d"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"within_next","value":7}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_gt","value":"v1.2.3"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_gt","value":"1.2.3.4"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_eq","value":"1.02.3"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	// the SQL date form needs seconds and one of its zones; the T form keeps RFC 3339's zones
	bad(`{"filters":[{"field":"a","operator":"before","value":"2022-04-30 22:00"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"after","value":"2022-04-30T22:00:00+0000"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"after","value":"2022-04-30T22:00:00+00"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"after","value":"2022-04-30 22:00:00+24"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"date_between","value":["2022-04-30 22:00:00","2022-04-30 23:00:00 +00"]}]}`, p("/filters/0/value/1", filter.ErrBadValue)),
	// a shortened version takes a pre-release, but stays strict otherwise
	bad(`{"filters":[{"field":"a","operator":"semver_lt","value":"v2-rc"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_lt","value":"02-rc"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_lt","value":"2-"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_lt","value":"2.0-rc..1"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"semver_lt","value":"2-01"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"in_cidr","value":["10.0.0.0/8","127.invalid"]}]}`, p("/filters/0/value/1", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"in_cidr","value":"10.0.0.0/33"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"contains_any","value":"x"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"elem_match","value":{"field":"x","operator":"eq","value":1}}]}`, p("/filters/0/value", filter.ErrBadShape)),
	bad(`{"filters":[{"field":"a","operator":"elem_match","value":{"filters":[{"field":"x","operator":"bogus"}]}}]}`, p("/filters/0/value/filters/0/operator", filter.ErrUnknownOperator)),
	bad(`{"filters":[{"field":"a","operator":"expr","value":"1 +"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"expr","value":"1 + 2"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"expr","value":"now() > 0"}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":1e400}]}`, p("/filters/0/value", filter.ErrBadValue)),
	bad(`{"filters":[{"field":"a","operator":"","value":1}]}`, p("/filters/0/operator", filter.ErrUnknownOperator)),
	// several problems, all reported at once
	bad(`{"filters":[{"field":"a","operator":"nope"},{"field":"b","operator":"regex","value":"["},{"match":"any","filters":[{"field":"c..d","operator":"eq","value":1}]}]}`,
		p("/filters/0/operator", filter.ErrUnknownOperator), p("/filters/1/value", filter.ErrBadValue), p("/filters/2/filters/0/field", filter.ErrBadField)),
	bad(`[1,2]`, p("", filter.ErrBadShape)),
	bad(`{"filters":[}`, p("", filter.ErrSyntax)),
	bad(`{"_id":"a","id":"b","filters":[]}`, p("/id", filter.ErrBadShape)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":{"k":1,"k":2}}]}`, p("/filters/0/value/k", filter.ErrDuplicateKey)),
	// The top level is a closed set: a typo there must not drop the
	// filters and put every contact in the segment.
	bad(`{"name":"a","filter":[{"field":"country","operator":"=","value":"IT"}]}`,
		says("/filter", filter.ErrUnknownKey, `/filter: unknown key "filter" (did you mean "filters"?)`)),
	bad(`{"name":"a","matc":"any","filters":[]}`, says("/matc", filter.ErrUnknownKey, `unknown key "matc" (did you mean "match"?)`)),
	bad(`{"nme":"a","filters":[]}`, says("/nme", filter.ErrUnknownKey, `unknown key "nme" (did you mean "name"?)`)),
	bad(`{"name":"a","filters":[],"id_projet":"p"}`, says("/id_projet", filter.ErrUnknownKey, `(did you mean "id_project"?)`)),
	bad(`{"name":"a","filters":[],"description":"x"}`, says("/description", filter.ErrUnknownKey, `unknown key "description"`)),
	bad(`{"name":"a","filters":[],"a/b":1}`, says("/a~1b", filter.ErrUnknownKey, `unknown key "a/b"`)),
	bad(`{"name":"a","filters":[{"field":"a","operator":"contians","value":"x"}]}`,
		says("/filters/0/operator", filter.ErrUnknownOperator, `unknown operator "contians" (did you mean "contains"?)`)),
	bad(`{"filters":[{"field":"a","operator":"start with","value":"x"}]}`,
		says("/filters/0/operator", filter.ErrUnknownOperator, `(did you mean "starts with"?)`)),
	bad(`{"filters":[{"field":"a","operator":"EQ","value":1}]}`, says("/filters/0/operator", filter.ErrUnknownOperator, `(did you mean "eq"?)`)),
	bad(`{"filters":[{"filed":"a","operator":"eq","value":1}]}`, says("/filters/0/filed", filter.ErrUnknownKey, `(did you mean "field"?)`)),
	bad(`{"filters":[{"field":"a","operator":"eq","value":1,"ignorecase":true}]}`,
		says("/filters/0/ignorecase", filter.ErrUnknownKey, `(did you mean "ignore_case"?)`)),
	bad(`{"filters":[{"match":"any","filter":[]}]}`, p("/filters/0/match", filter.ErrUnknownKey),
		says("/filters/0/filter", filter.ErrUnknownKey, `(did you mean "filters"?)`), p("/filters/0", filter.ErrBadShape)),
}

// Nameless are segments that compile alone (segmatch.Compile needs no
// identity) but that every place segments are told apart rejects: the
// engine, validate, classify, the store and the API (ErrNoIdentity, or the
// store's required name).
var Nameless = []string{
	`{"filters":[{"field":"a","operator":"eq","value":1}]}`,
	`{"name":"","filters":[]}`,
	`{"_id":"","id":"","name":"","match":"any","filters":[]}`,
	`{"_id":null,"name":"","filters":[]}`,
}
