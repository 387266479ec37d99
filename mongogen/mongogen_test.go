package mongogen_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/mongogen"
)

func filterJSON(t *testing.T, seg filter.Segment, opts ...mongogen.Option) (string, bool) {
	t.Helper()
	q, err := mongogen.Compile(seg, append([]mongogen.Option{mongogen.WithNow(cases.Now)}, opts...)...)
	require.NoError(t, err)
	b, err := bson.MarshalExtJSON(q.Filter, false, false)
	require.NoError(t, err)
	return string(b), q.Exact
}

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		f     filter.Filter
		want  string
		exact bool
	}{
		{filter.Cond("country", "=", "IT"), `{"$or":[{"country":"IT"},{"country":{"$type":["objectId","date","binData","regex","symbol","timestamp","minKey","maxKey","dbPointer"]}}]}`, true},
		{filter.Cond("active", "eq", true), `{"active":true}`, true},
		{filter.Cond("age", "<", 30), `{"$or":[{"age":{"$lt":30.0}},{"age":{"$regex":"\\A[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\z"}}]}`, false},
		{filter.Cond("email", "starts with", "a.b"), `{"$or":[{"email":{"$regex":"\\Aa\\x{2e}b"}},{"email":{"$type":["objectId","date","binData","regex","symbol","timestamp","minKey","maxKey","dbPointer"]}}]}`, true},
		{filter.CondNoValue("email", "is null"), `{"$or":[{"email":{"$exists":false}},{"$and":[{"email":{"$type":"null"}},{"email":{"$not":{"$type":"array"}}}]}]}`, true},
		{filter.Cond("x", "expr", "true"), `{}`, false},
	} {
		got, exact := filterJSON(t, filter.Segment{Filters: []filter.Filter{tc.f}})
		assert.Equal(t, tc.want, got, "%s %s", tc.f.Field, tc.f.Operator)
		assert.Equal(t, tc.exact, exact, "%s %s exact", tc.f.Field, tc.f.Operator)
	}
}

// TestNegatedLooser: the negation of a looser condition is never pushed
// as its upper filter's complement (which would drop members): ne on a
// number keeps every document whose field is not exactly that number,
// numeric strings included.
func TestNegatedLooser(t *testing.T) {
	got, exact := filterJSON(t, filter.Segment{Filters: []filter.Filter{filter.Cond("age", "!=", 30)}})
	assert.Equal(t, `{"$nor":[{"age":30.0}]}`, got)
	assert.False(t, exact)
	got, _ = filterJSON(t, filter.Segment{Filters: []filter.Filter{filter.Cond("createdAt", "not_within_last", "7d")}})
	assert.Equal(t, `{}`, got)
}

func TestContactJSON(t *testing.T) {
	oid, _ := bson.ObjectIDFromHex("65f1c0ffee0000000000a001")
	raw, err := bson.Marshal(bson.D{{Key: "_id", Value: oid}, {Key: "n", Value: int32(3)}, {Key: "l", Value: int64(1) << 40},
		{Key: "d", Value: bson.NewDateTimeFromTime(cases.Now)}, {Key: "a", Value: bson.A{1.5, nil, "x", bson.D{}}}, {Key: "b", Value: true}})
	require.NoError(t, err)
	js, err := mongogen.ContactJSON(raw)
	require.NoError(t, err)
	assert.JSONEq(t, `{"_id":"65f1c0ffee0000000000a001","n":3,"l":1099511627776,"d":"2026-11-28T12:00:00.000Z","a":[1.5,null,"x",{}],"b":true}`, string(js))
	_, err = mongogen.ContactJSON(bson.Raw{1, 2, 3})
	assert.ErrorIs(t, err, mongogen.ErrDocument)
}

func TestDocumentOf(t *testing.T) {
	d, err := mongogen.DocumentOf([]byte(`{"b":1,"a":{"$date":"x"},"c":[1,"s",null,true]}`))
	require.NoError(t, err)
	raw, _ := bson.Marshal(d)
	js, err := mongogen.ContactJSON(raw)
	require.NoError(t, err)
	assert.Equal(t, `{"b":1,"a":{"$date":"x"},"c":[1,"s",null,true]}`, string(js))
	for _, bad := range []string{`[1]`, `{"a\u0000":1}`, `{"a":1} x`, `{`, `{"a":1e999}`} {
		_, err := mongogen.DocumentOf([]byte(bad))
		assert.ErrorIs(t, err, mongogen.ErrContact, bad)
	}
}

func TestPushdownTable(t *testing.T) {
	k, _ := mongogen.Pushdown("!=")
	assert.Equal(t, mongogen.Exact, k)
	k, _ = mongogen.Pushdown("expr")
	assert.Equal(t, mongogen.None, k)
	k, _ = mongogen.Pushdown("semver_ne")
	assert.Equal(t, mongogen.Looser, k)
	k, _ = mongogen.Pushdown("opertor")
	assert.Equal(t, mongogen.None, k)
	b, _ := json.Marshal(mongogen.Table())
	assert.Contains(t, string(b), `"Operator":"elem_match"`)
}

func TestRegexTranslation(t *testing.T) {
	for _, tc := range []struct {
		pat  string
		fold bool
		want string
		ok   bool
	}{
		{`^ab$`, false, `(?:\A(?:ab)\z)`, true},
		{`k`, true, `(?:[Kk\x{212a}])`, true},
		{`a.`, false, `(?:(?:a)[^\x{a}])`, true},
		{`\bword`, false, "", false},    // PCRE's \b may be Unicode-aware
		{`(?m)^a`, false, "", false},    // multi-line anchors
		{`(a+)+b`, false, "", false},    // nested repetition: PCRE backtracks
		{`(a|aa)*b`, false, "", false},  // a repeated alternation: exponential in PCRE
		{`a*a*a*a*b`, false, "", false}, // four repeats: n^4
		{`[a-c]+@x{2,3}\.?`, false, `(?:(?:[a-c])+(?:\x{40})(?:(?:x)){2,3}(?:(?:\x{2e}))?)`, true},
		{`[`, false, "", false}, // not a pattern
	} {
		got, ok := mongogen.TranslateRegex(tc.pat, tc.fold)
		assert.Equal(t, tc.ok, ok, tc.pat)
		if ok {
			assert.Equal(t, tc.want, got, tc.pat)
		}
	}
	// An untranslated regex pushes "some string", and its negation
	// nothing.
	got, exact := filterJSON(t, filter.Segment{Filters: []filter.Filter{filter.Cond("email", "regex", `\bbob`)}}, mongogen.FerretDB())
	assert.Equal(t, `{"$or":[{"email":{"$type":"string"}},{"email":{"$type":["objectId","date","binData","regex","timestamp"]}}]}`, got)
	assert.False(t, exact)
	got, _ = filterJSON(t, filter.Segment{Filters: []filter.Filter{filter.Cond("email", "not_regex", `\bbob`)}})
	assert.Equal(t, `{}`, got)
}
