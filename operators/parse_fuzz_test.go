package operators

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/semver"
)

// FuzzParseDate: ParseDate never panics; what it accepts is a real
// instant that encoding's own parsers agree on, and the RFC 3339 strings
// time.Parse accepts (in the grammar ParseDate documents) it accepts too.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2026-11-28", "2026-11-28T10:00:00", "2026-11-28T10:00:00Z", "2026-11-28T10:00:00.000Z",
		"2026-11-28T10:00:00.123456789+02:00", "2026-11-28T10:00:00.1234567891-05:30", "2026-11-28t10:00:00z",
		"2024-02-29", "2023-02-29", "2026-13-01", "2026-00-10", "2026-11-31", "0000-01-01", "9999-12-31T23:59:59Z",
		"2026-11-28T24:00:00Z", "2026-11-28T23:59:60Z", "2026-11-28T10:00:00.Z", "2026-11-28T10:00:00.5",
		"2026-11-28T10:00:00+2:00", "2026-11-28T10:00:00+24:00", "2026-11-28 10:00:00Z", "+2026-11-28",
		"-026-11-28", "2026-1-028", "２０２６-11-28", "", "2026", "2026-11-28T", "1700000000000",
		// the SQL form: a space for the T, fraction and zone optional
		"2022-04-30 22:00:00", "2022-04-30 22:00:00.5", "2022-04-30 22:00:00.123456+00", "2022-04-30 22:00:00+0000",
		"2022-04-30 22:00:00+00:00", "2022-04-30 22:00:00z", "2022-04-30 22:00:00-05", "2022-04-30 22:00:00.5-0530",
		"2022-04-30 22:00:00+24", "2022-04-30 22:00:00+0060", "2022-04-30 22:00:00+000", "2022-04-30 22:00:00+0",
		"2022-04-30 22:00:00 +00", "2022-04-30 22:00", "2022-04-30 22:00:00.", "2022-04-30  22:00:00",
		"2022-04-30T22:00:00+0000", "2022-04-30T22:00:00+00", "2022-04-30T22:00:00.5+00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseDate(s)
		// The reference: time.Parse with the layout of each accepted form.
		var layout string
		switch {
		case len(s) == 10:
			layout = time.DateOnly
		case len(s) == 19 && s[10] != ' ':
			layout = "2006-01-02T15:04:05"
		default:
			layout = time.RFC3339Nano
		}
		ref := strings.ToUpper(s) // RFC 3339 allows t and z; time.Parse wants T and Z
		want, err := time.Parse(layout, ref)
		if len(s) > 10 && s[10] == ' ' {
			// The SQL form: time.Parse reads a fraction after the seconds
			// whatever the layout; the zone is one of four layouts, or
			// none (UTC).
			for _, zone := range []string{"", "Z07", "Z0700", "Z07:00"} {
				if want, err = time.Parse("2006-01-02 15:04:05"+zone, ref); err == nil {
					break
				}
			}
		}
		inGrammar := dateGrammar.MatchString(s) || sqlDateGrammar.MatchString(s)
		switch {
		case ok && !inGrammar:
			t.Fatalf("ParseDate(%q) accepted a string outside its grammar", s)
		case ok && err != nil:
			t.Fatalf("ParseDate(%q) = %v; time.Parse(%q): %v", s, got, layout, err)
		case ok && !got.Equal(want):
			t.Fatalf("ParseDate(%q) = %v; time.Parse = %v", s, got, want)
		case ok && got.Location() != time.UTC:
			t.Fatalf("ParseDate(%q) = %v, not in UTC", s, got)
		case !ok && err == nil && inGrammar:
			t.Fatalf("ParseDate(%q) rejected what time.Parse reads as %v", s, want)
		}
	})
}

// dateGrammar is ParseDate's documented grammar (ranges aside, but for
// the zone offset: RFC 3339's time-hour is 00-23 and time-minute 00-59,
// where time.Parse also takes +24:00 and +00:60).
var dateGrammar = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}([Tt]\d{2}:\d{2}:\d{2}((\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))?)?$`)

// sqlDateGrammar is the SQL form: a space for the T, a fraction without
// a zone allowed (UTC), zones Z, ±hh, ±hhmm and ±hh:mm.
var sqlDateGrammar = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?$`)

// FuzzParseSemver: ParseSemver never panics; it accepts exactly what
// golang.org/x/mod/semver accepts (with the "v" that package wants) once
// a shortened version is written out in full ("2-rc" as "2.0.0-rc"), and
// orders two versions as it does.
func FuzzParseSemver(f *testing.F) {
	for _, p := range [][2]string{
		{"1.2.3", "1.2.4"}, {"2.0.0-rc.1+build.5", "2.0.0"}, {"2", "2.0"}, {"1.0.0-alpha", "1.0.0-alpha.1"},
		{"1.0.0-alpha.beta", "1.0.0-beta"}, {"1.0.0-beta.2", "1.0.0-beta.11"}, {"1.0.0-rc.1", "1.0.0"},
		{"01.2.3", "1.02.3"}, {"1.2.3-01", "1.2.3-0a"}, {"1.2.3+01", "1.2.3+"}, {"1.2.3-", "1.2.3-a..b"},
		{"v1.2.3", "1.2.3.4"}, {"99999999999999999999.0.0", "99999999999999999998.0.0"}, {"", "1..3"},
		{"1.2.3-0", "1.2.3-a-b"}, {"1.2.3-alpha+001", "1.2.3-alpha+002"}, {"1.2", "1.2.0-0"},
		// shortened versions with a pre-release or build metadata
		{"2-rc", "2.0.0-rc"}, {"2.0-rc.1", "2.0.0-rc.1"}, {"2-rc.1+b", "2.0.0"}, {"2+b", "2.0-0"},
		{"v2-rc", "2-"}, {"2-01", "2.0-rc..1"}, {"02-rc", "2.-rc"}, {"2.0+", "-rc"}, {"2-rc+b.01", "1.9+x"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, oka := ParseSemver(a)
		vb, okb := ParseSemver(b)
		if want := semver.IsValid("v" + full(a)); oka != want {
			t.Fatalf("ParseSemver(%q) = %v; x/mod semver.IsValid(%q) = %v", a, oka, "v"+full(a), want)
		}
		if want := semver.IsValid("v" + full(b)); okb != want {
			t.Fatalf("ParseSemver(%q) = %v; x/mod semver.IsValid(%q) = %v", b, okb, "v"+full(b), want)
		}
		if oka && okb {
			got := va.Compare(vb)
			if got != -vb.Compare(va) {
				t.Fatalf("Compare(%q, %q) = %d is not antisymmetric", a, b, got)
			}
			if want := semver.Compare("v"+full(a), "v"+full(b)); got != want {
				t.Fatalf("Compare(%q, %q) = %d; x/mod semver.Compare = %d", a, b, got, want)
			}
		}
	})
}

// full writes a shortened version out in full: ".0" for each missing
// minor or patch, in front of any pre-release or build suffix ("2-rc" is
// "2.0.0-rc"), as docs/semantics.md reads it; x/mod accepts the shorthands "v2"
// and "v2.0" only without a suffix.
func full(s string) string {
	core, suffix := s, ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		core, suffix = s[:i], s[i:]
	}
	for n := strings.Count(core, "."); n < 2; n++ {
		core += ".0"
	}
	return core + suffix
}

// FuzzParseDecimal: ParseDecimal never panics; it accepts exactly the
// strings of its documented grammar (optional sign, digits with an
// optional fraction or a fraction alone, optional exponent) that
// strconv.ParseFloat reads within float64's range, with the same value.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{
		"34", "-34", "+34", "3.5", ".5", "5.", "-.5e-3", "1e400", "-1e400", "1e-400", "0x10", "0x1p3", "1_000",
		"Inf", "-Inf", "NaN", "infinity", " 1", "1 ", "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "00012",
		"1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324", "١٢", "12\x00",
		strings.Repeat("1", 400), strings.Repeat("0", 400) + "1", strings.Repeat("9", 309) + ".5", "1e309", "10e308", "0.1e311", "1e-99999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseDecimal(s)
		want, err := strconv.ParseFloat(s, 64)
		inGrammar := decimalGrammar.MatchString(s)
		switch {
		case ok && !inGrammar:
			t.Fatalf("ParseDecimal(%q) = %v outside the grammar", s, got)
		case ok && (err != nil || got != want):
			t.Fatalf("ParseDecimal(%q) = %v; strconv.ParseFloat = %v, %v", s, got, want, err)
		case ok && math.IsInf(got, 0):
			t.Fatalf("ParseDecimal(%q) = %v", s, got)
		case !ok && inGrammar && err == nil:
			t.Fatalf("ParseDecimal(%q) rejected; strconv.ParseFloat = %v", s, want)
		}
	})
}

var decimalGrammar = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
