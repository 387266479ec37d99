package rawjson

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// everything is a Collector that descends into every object, recording
// each member as "parent/key=value" lines in document order.
type everything struct {
	paths []string // per node: its key path
	lines []string
	skip  string // a key it does not want (nor what is below it)
}

func (e *everything) Member(parent int32, rawKey string) int32 {
	if rawKey == e.skip {
		return -1
	}
	e.paths = append(e.paths, e.paths[parent]+"/"+rawKey)
	return int32(len(e.paths) - 1)
}

func (e *everything) Value(node int32, raw string) {
	e.lines = append(e.lines, e.paths[node]+"="+raw)
}

func collectAll(doc []byte, depth int, skip string) ([]string, error) {
	e := &everything{paths: []string{""}, skip: skip}
	err := ValidateCollect(doc, e, depth)
	return e.lines, err
}

// walkMembers is the same record made with the scanner, one object at a
// time: members in order, an object's own members before it ends.
func walkMembers(obj, path string, depth int, skip string) []string {
	var out []string
	ForEachMember(obj, func(k, v string) bool {
		if k == skip {
			return true
		}
		if depth > 1 && v[0] == '{' {
			out = append(out, walkMembers(v, path+"/"+k, depth-1, skip)...)
		}
		out = append(out, path+"/"+k+"="+v)
		return true
	})
	return out
}

func TestValidateCollect(t *testing.T) {
	doc := `{ "a" : 1, "b":{"c":[{"d":2}], "e" :{ "f":"x\"}" }, "g":{} }, "h":[{"i":1}], "b":null, "skip":{"j":1}, "\u006b":true }`
	got, err := collectAll([]byte(doc), MaxCollectDepth, "skip")
	require.NoError(t, err)
	require.Equal(t, []string{
		`/a=1`,
		`/b/c=[{"d":2}]`,
		`/b/e/f="x\"}"`,
		`/b/e={ "f":"x\"}" }`,
		`/b/g={}`,
		`/b={"c":[{"d":2}], "e" :{ "f":"x\"}" }, "g":{} }`,
		`/h=[{"i":1}]`,
		`/b=null`,
		`/\u006b=true`,
	}, got)
	require.Equal(t, walkMembers(doc, "", MaxCollectDepth, "skip"), got)

	got, err = collectAll([]byte(doc), 1, "")
	require.NoError(t, err)
	require.Equal(t, walkMembers(doc, "", 1, ""), got)
	require.Len(t, got, 6)

	deep := strings.Repeat(`{"k":`, MaxCollectDepth+3) + `1` + strings.Repeat(`}`, MaxCollectDepth+3)
	got, err = collectAll([]byte(deep), 100, "")
	require.NoError(t, err)
	require.Len(t, got, MaxCollectDepth, "objects below MaxCollectDepth are not offered")

	for _, bad := range []string{`{"a":{"b":1}`, `{"a":[}`, `[1]`, `{"a":1,}`} {
		_, err := collectAll([]byte(bad), MaxCollectDepth, "")
		require.Error(t, err, bad)
	}
}

// checkCollect: on a valid object, the one pass offers exactly the members
// the scanner finds, in the same order.
func checkCollect(t *testing.T, b []byte) {
	for _, depth := range []int{1, 3, MaxCollectDepth} {
		got, err := collectAll(b, depth, "")
		require.NoError(t, err)
		want := walkMembers(string(b), "", depth, "")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ValidateCollect(%q, depth %d):\n%q\nthe scanner:\n%q", b, depth, got, want)
		}
	}
}
