package operators

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/segmatch/segmatch/internal/rawjson"
)

// constant is one scalar of a filter value, prepared for comparison.
type constant struct {
	kind Kind // Null, Bool, Number or String
	b    bool
	num  float64
	str  string // folded when the filter ignores case
}

// scalar reads one JSON scalar of the filter value; sub locates it. A
// string is folded when fold is set (the caller decides: order and CIDR
// constants are never folded, whatever the filter's ignore_case).
func (a *Arg) scalar(raw json.RawMessage, sub string, fold bool) (constant, error) {
	if s, ok := rawjson.ReadScalar(string(raw)); ok { // encoding/json's reading, without reflection
		c := constant{kind: kindOfScalar[s.Kind], b: s.Bool, num: s.Num, str: s.Str}
		switch c.kind {
		case Number:
			a.atLeast(CostNumber)
		case String:
			if fold {
				a.atLeast(CostFold)
				c.str = FoldString(c.str)
			}
		}
		return c, nil
	}
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return constant{}, a.Errorf(sub, "not JSON")
	}
	switch t := x.(type) {
	case nil:
		return constant{kind: Null}, nil
	case bool:
		return constant{kind: Bool, b: t}, nil
	case float64:
		a.atLeast(CostNumber) // contact strings are read as numbers
		return constant{kind: Number, num: t}, nil
	case string:
		if fold {
			a.atLeast(CostFold)
			t = FoldString(t)
		}
		return constant{kind: String, str: t}, nil
	}
	return constant{}, a.Errorf(sub, "want a scalar (string, number, bool or null), got %s", jsonType(raw))
}

// kindOfScalar is the Kind of each rawjson.ScalarKind.
var kindOfScalar = [...]Kind{rawjson.NullScalar: Null, rawjson.BoolScalar: Bool, rawjson.NumberScalar: Number, rawjson.StringScalar: String}

// list reads the value as a JSON array of raw elements.
func (a *Arg) list(want string) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	if len(a.Value) == 0 {
		return nil, a.Errorf("", "missing; want %s", want)
	}
	if elems, ok := rawjson.Elements(string(a.Value)); ok { // as encoding/json splits it
		raws = make([]json.RawMessage, len(elems))
		for i, e := range elems {
			raws[i] = json.RawMessage(e)
		}
		return raws, nil
	}
	if err := json.Unmarshal(a.Value, &raws); err != nil {
		return nil, a.Errorf("", "want %s, got %s", want, jsonType(a.Value))
	}
	return raws, nil
}

// stringOrList reads a string or an array of strings, folded when fold is
// set.
func (a *Arg) stringOrList(fold bool) ([]string, error) {
	const want = "a string or an array of strings"
	if len(a.Value) == 0 {
		return nil, a.Errorf("", "missing; want %s", want)
	}
	// Each value is tested in turn (folded: each folds what is read).
	perValue := CostScan
	if fold {
		perValue = CostFold
	}
	var one string
	if s, ok := rawjson.ReadScalar(string(a.Value)); ok && s.Kind == rawjson.StringScalar {
		a.Cost += perValue
		return []string{foldIf(s.Str, fold)}, nil
	}
	if json.Unmarshal(a.Value, &one) == nil {
		a.Cost += perValue
		return []string{foldIf(one, fold)}, nil
	}
	raws, err := a.list(want)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(raws))
	a.Cost += perValue * len(raws)
	for i, r := range raws {
		if s, ok := rawjson.ReadScalar(string(r)); ok && s.Kind == rawjson.StringScalar {
			out[i] = foldIf(s.Str, fold)
			continue
		}
		if json.Unmarshal(r, &out[i]) != nil {
			return nil, a.Errorf("/"+strconv.Itoa(i), "want a string, got %s", jsonType(r))
		}
		out[i] = foldIf(out[i], fold)
	}
	return out, nil
}

// foldIf returns s folded when fold is set, s itself otherwise.
func foldIf(s string, fold bool) string {
	if fold {
		return FoldString(s)
	}
	return s
}

func jsonType(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a bool"
	case 'n':
		return "null"
	}
	return "a number"
}

// equals is docs/semantics.md rule 1 equality of a contact value with a constant
// (scalars only; arrays are the caller's business).
func (c *constant) equals(v Value, fold bool) bool {
	switch c.kind {
	case Number:
		n, ok := v.Number()
		return ok && n == c.num
	case String:
		if v.kind != String {
			return false
		}
		if fold {
			return equalFold(v.str, c.str)
		}
		return v.str == c.str
	case Bool:
		return v.kind == Bool && v.b == c.b
	case Null:
		return v.kind <= Null
	}
	return false
}

// anyElem applies a scalar test to v, or to each element when v is an
// array (rule 2). Missing and null are false (rule 4).
func anyElem(v Value, test func(Value) bool) bool {
	switch v.kind {
	case Missing, Null:
		return false
	case Array:
		return v.Any(test)
	}
	return test(v)
}
