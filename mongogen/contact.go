package mongogen

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ErrDocument: a BSON document ContactJSON cannot read (malformed).
var ErrDocument = errors.New("mongogen: malformed BSON document")

// ContactJSON writes a stored document as the JSON contact the recheck
// (and classify) reads. JSON types stay as they are (int32, int64 and
// double are numbers; a decimal128 is its decimal number); the others
// become strings: an ObjectId its hex, a BSON date RFC 3339 in UTC with
// milliseconds (so date operators read it), binary data base64, a regex
// /pattern/options, a timestamp its seconds.increment, a symbol or
// JavaScript code its text, MinKey and MaxKey "MinKey" / "MaxKey".
// undefined is null; a non-finite double or decimal is null. (The
// filters admit those types wherever a string test may read them, see
// stringish.) Keys keep their order; a repeated key is written twice,
// and the recheck reads the last, as segmatch reads raw JSON.
func ContactJSON(doc bson.Raw) (out []byte, err error) {
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDocument, err)
	}
	// Validate does not look into every value; the readers below are
	// the checked ones, and a reader of the driver that still panics
	// on a malformed value is a malformed document.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", ErrDocument, r)
		}
	}()
	return appendDoc(nil, doc, false)
}

var errValue = fmt.Errorf("%w: malformed value", ErrDocument)

func appendDoc(b []byte, doc bson.Raw, array bool) ([]byte, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDocument, err)
	}
	if array {
		b = append(b, '[')
	} else {
		b = append(b, '{')
	}
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		if !array {
			b = appendString(b, e.Key())
			b = append(b, ':')
		}
		b, err = appendValue(b, e.Value())
		if err != nil {
			return nil, err
		}
	}
	if array {
		b = append(b, ']')
	} else {
		b = append(b, '}')
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // never fails on a string; invalid UTF-8 becomes U+FFFD
	return append(b, q...)
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	q, _ := json.Marshal(f)
	return append(b, q...)
}

func appendValue(b []byte, v bson.RawValue) ([]byte, error) {
	switch v.Type {
	case bson.TypeDouble:
		f, ok := v.DoubleOK()
		if !ok {
			return nil, errValue
		}
		return appendFloat(b, f), nil
	case bson.TypeString, bson.TypeSymbol, bson.TypeJavaScript:
		var s string
		var ok bool
		switch v.Type {
		case bson.TypeString:
			s, ok = v.StringValueOK()
		case bson.TypeSymbol:
			s, ok = v.SymbolOK()
		default:
			s, ok = v.JavaScriptOK()
		}
		if !ok {
			return nil, errValue
		}
		return appendString(b, s), nil
	case bson.TypeEmbeddedDocument:
		d, ok := v.DocumentOK()
		if !ok {
			return nil, errValue
		}
		return appendDoc(b, d, false)
	case bson.TypeArray:
		a, ok := v.ArrayOK()
		if !ok {
			return nil, errValue
		}
		return appendDoc(b, bson.Raw(a), true)
	case bson.TypeBinary:
		_, data, ok := v.BinaryOK()
		if !ok {
			return nil, errValue
		}
		return appendString(b, base64.StdEncoding.EncodeToString(data)), nil
	case bson.TypeUndefined, bson.TypeNull:
		return append(b, "null"...), nil
	case bson.TypeObjectID:
		oid, ok := v.ObjectIDOK()
		if !ok {
			return nil, errValue
		}
		return appendString(b, oid.Hex()), nil
	case bson.TypeBoolean:
		t, ok := v.BooleanOK()
		if !ok {
			return nil, errValue
		}
		if t {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case bson.TypeDateTime:
		ms, ok := v.DateTimeOK()
		if !ok {
			return nil, errValue
		}
		t := time.UnixMilli(ms).UTC()
		return appendString(b, t.Format("2006-01-02T15:04:05.000Z07:00")), nil
	case bson.TypeRegex:
		p, o, ok := v.RegexOK()
		if !ok {
			return nil, errValue
		}
		return appendString(b, "/"+p+"/"+o), nil
	case bson.TypeDBPointer:
		ns, oid, ok := v.DBPointerOK()
		if !ok {
			return nil, errValue
		}
		return appendString(b, ns+"."+oid.Hex()), nil
	case bson.TypeCodeWithScope:
		code, _, ok := v.CodeWithScopeOK()
		if !ok {
			return nil, errValue
		}
		return appendString(b, code), nil
	case bson.TypeInt32:
		n, ok := v.Int32OK()
		if !ok {
			return nil, errValue
		}
		return strconv.AppendInt(b, int64(n), 10), nil
	case bson.TypeTimestamp:
		t, i, ok := v.TimestampOK()
		if !ok {
			return nil, errValue
		}
		return appendString(b, strconv.FormatUint(uint64(t), 10)+"."+strconv.FormatUint(uint64(i), 10)), nil
	case bson.TypeInt64:
		n, ok := v.Int64OK()
		if !ok {
			return nil, errValue
		}
		return strconv.AppendInt(b, n, 10), nil
	case bson.TypeDecimal128:
		d, ok := v.Decimal128OK()
		if !ok {
			return nil, errValue
		}
		s := d.String()
		if f, err := strconv.ParseFloat(s, 64); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return append(b, "null"...), nil
		}
		return append(b, s...), nil
	case bson.TypeMinKey:
		return appendString(b, "MinKey"), nil
	case bson.TypeMaxKey:
		return appendString(b, "MaxKey"), nil
	}
	return nil, fmt.Errorf("%w: BSON type %v", ErrDocument, v.Type)
}

// ErrContact: a contact DocumentOf cannot store.
var ErrContact = errors.New("mongogen: contact cannot be stored")

// DocumentOf converts a JSON contact (an object) to the BSON document
// that stores it: numbers become doubles, everything else its JSON
// type, keys in order (a "$"-key stays a key: this is plain JSON, not
// extended JSON). A key holding U+0000 (BSON cannot) is an error.
func DocumentOf(contact []byte) (bson.D, error) {
	dec := json.NewDecoder(bytes.NewReader(contact))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrContact, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrContact)
	}
	d, ok := v.(bson.D)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrContact)
	}
	return d, nil
}

// maxJSONDepth bounds DocumentOf's recursion (BSON's own limit is 100).
const maxJSONDepth = 100

func readJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := bson.D{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				if strings.IndexByte(k, 0) >= 0 {
					return nil, fmt.Errorf("key %q holds U+0000", k)
				}
				v, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d = append(d, bson.E{Key: k, Value: v})
			}
			_, err := dec.Token()
			return d, err
		case '[':
			a := bson.A{}
			for dec.More() {
				v, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %v", t, err)
		}
		return f, nil
	}
	return tok, nil // string, bool, nil
}
