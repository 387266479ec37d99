package operators

import (
	"math"
	"strconv"
)

// ParseDecimal reads s as a decimal number in its entirety: an optional
// sign, digits with an optional fraction (or a fraction alone), an
// optional exponent. No spaces, hex, underscores, "Inf" or "NaN"; a value
// beyond float64's range is not a number. This is docs/semantics.md rule 1's
// "a contact string that parses entirely as a decimal number".
func ParseDecimal(s string) (float64, bool) {
	if n, ok := smallInt(s); ok {
		return n, true
	}
	if !isDecimal(s) || overflows(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// overflows reports a decimal (isDecimal, or a JSON number) beyond
// float64's range, without calling strconv: its range error copies the
// string (a megabyte of digits allocated a megabyte per condition).
// Numbers near the edge are left to strconv.
func overflows(s string) bool {
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	for i < len(s) && s[i] == '0' {
		i++
	}
	// mag is the decimal exponent of the first significant digit, before
	// the explicit exponent.
	mag, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if digits > 0 {
		mag = digits - 1
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits == 0 {
			z := 0
			for i < len(s) && s[i] == '0' {
				i++
				z++
			}
			if i == len(s) || s[i] < '0' || s[i] > '9' {
				return false // zero
			}
			mag = -(z + 1)
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else if digits == 0 {
		return false // zero
	}
	exp, neg := 0, false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		for ; i < len(s) && exp < 1e6; i++ {
			exp = exp*10 + int(s[i]-'0')
		}
	}
	if neg {
		exp = -exp
	}
	return mag+exp >= 310 // at least 10^310: +-Inf
}

// parseNumber reads a JSON number that rawjson validated, as
// encoding/json would but with ±Inf beyond float64's range (README
// semantics), allocating nothing.
func parseNumber(raw string) float64 {
	if n, ok := smallInt(raw); ok {
		return n
	}
	if overflows(raw) {
		if raw[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	f, _ := strconv.ParseFloat(raw, 64)
	return f
}

func isDecimal(s string) bool {
	i, n := 0, len(s)
	if i < n && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < n && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < n && s[i] == '.' {
		i++
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == n
}

// smallInt reads the common numeric string, an optionally signed integer
// of at most 15 digits, exactly (every such integer is a float64) and
// without strconv.
func smallInt(s string) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	if len(s) == i || len(s)-i > 15 {
		return 0, false
	}
	var n int64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	f := float64(n)
	if neg {
		f = -f
	}
	return f, true
}
