package operators

import "testing"

// TestParseZeroAllocs: ParseDate and ParseSemver allocate nothing, on
// every accepted form (the SQL date form and shortened versions with a
// pre-release included) and on refused strings.
func TestParseZeroAllocs(t *testing.T) {
	dates := []string{
		"2026-11-28", "2026-11-28T10:00:00", "2026-11-28T10:00:00.123Z", "2026-11-28T10:00:00-05:30",
		"2022-04-30 22:00:00", "2022-04-30 22:00:00.5", "2022-04-30 22:00:00+00", "2022-04-30 22:00:00+0000",
		"2022-04-30 22:00:00.123456-05:00", "2022-04-30 22:00:00Z", "2022-04-30 22:00", "2022-04-30T22:00:00+0000",
	}
	versions := []string{"1.2.3", "2.0.0-rc.1+build.5", "2", "2.0", "2-rc", "2.0-rc.1", "2-rc.1+b", "v2-rc", "2-rc..1"}
	if n := testing.AllocsPerRun(100, func() {
		for _, s := range dates {
			ParseDate(s)
		}
	}); n != 0 {
		t.Errorf("ParseDate: %v allocations per run", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, s := range versions {
			ParseSemver(s)
		}
	}); n != 0 {
		t.Errorf("ParseSemver: %v allocations per run", n)
	}
}
