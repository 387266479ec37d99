package mongogen_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/internal/testkit/cases"
	"github.com/segmatch/segmatch/mongogen"
)

// FuzzContactJSON: whatever bytes a server sends as a document,
// ContactJSON returns valid JSON or ErrDocument, never a panic.
func FuzzContactJSON(f *testing.F) {
	for _, d := range []bson.D{
		{{Key: "a", Value: 1.5}, {Key: "b", Value: bson.A{"x", nil, bson.D{{Key: "c", Value: true}}}}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "t", Value: bson.NewDateTimeFromTime(cases.Now)}, {Key: "n", Value: int64(-7)}},
		{{Key: "r", Value: bson.Regex{Pattern: "^a", Options: "i"}}, {Key: "bin", Value: bson.Binary{Data: []byte{1, 2}}}, {Key: "ts", Value: bson.Timestamp{T: 1, I: 2}}},
	} {
		raw, _ := bson.Marshal(d)
		f.Add([]byte(raw))
	}
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		js, err := mongogen.ContactJSON(bson.Raw(data))
		if err != nil {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("invalid JSON %q from %x", js, data)
		}
	})
}

// FuzzDocumentOf: a JSON contact stores as BSON and reads back (through
// ContactJSON) as the same JSON value; anything else is ErrContact.
func FuzzDocumentOf(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,"x",null,{"c":true}]}`, `{"$date":"x"}`, `{"a":1e308,"b":-0,"c":"\u00e9"}`, `[]`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := mongogen.DocumentOf(data)
		if err != nil {
			return
		}
		raw, err := bson.Marshal(d)
		if err != nil {
			return // over BSON's own limits (size, depth)
		}
		js, err := mongogen.ContactJSON(raw)
		if err != nil {
			t.Fatalf("ContactJSON of a stored contact: %v", err)
		}
		var want, got any
		if json.Unmarshal(data, &want) != nil {
			t.Fatalf("DocumentOf accepted invalid JSON %q", data)
		}
		if err := json.Unmarshal(js, &got); err != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("round trip: %q became %q (%v)", data, js, err)
		}
	})
}

// FuzzCompile: a segment document that decodes either compiles to a
// filter that marshals as BSON, or is the compile error; never a panic.
func FuzzCompile(f *testing.F) {
	for _, c := range cases.All()[:40] {
		b, _ := json.Marshal(c.Segment)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		seg, err := filter.DecodeSegment(data)
		if err != nil {
			return
		}
		for _, opts := range [][]mongogen.Option{{mongogen.WithNow(cases.Now)}, {mongogen.WithNow(cases.Now), mongogen.FerretDB()}} {
			q, err := mongogen.Compile(seg, opts...)
			if err != nil {
				return
			}
			if _, err := bson.Marshal(q.Filter); err != nil {
				t.Fatalf("filter does not marshal: %v", err)
			}
		}
	})
}

// FuzzRegex: a pattern mongogen translates matches, under Go's regexp
// (FerretDB's engine), exactly the strings the RE2 pattern matches.
func FuzzRegex(f *testing.F) {
	for _, s := range [][2]string{{`^a.c$`, "abc"}, {`(?i)straße`, "STRASSE"}, {`[^x]+y{2,3}`, "ayy"}, {`a|b*`, ""}, {`\d\s\w.`, "1 a\n"}, {`ſ`, "S"}} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, pat, s string, fold bool) {
		if len(pat) > 200 {
			return
		}
		full := pat
		if fold {
			full = "(?i)" + pat
		}
		orig, err := regexp.Compile(full)
		if err != nil {
			return
		}
		tr, ok := mongogen.TranslateRegex(pat, fold)
		if !ok {
			return
		}
		re, err := regexp.Compile(tr)
		if err != nil {
			t.Fatalf("%q translated to %q, which does not compile: %v", pat, tr, err)
		}
		if re.MatchString(s) != orig.MatchString(s) {
			t.Fatalf("%q (fold %v) on %q: RE2 %v, translated %q %v", pat, fold, s, orig.MatchString(s), tr, re.MatchString(s))
		}
	})
}
