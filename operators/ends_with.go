package operators

import "strings"

// ends_with: the string field ends with (one of) the value(s).
var opEndsWith = &Operator{Name: "ends_with", Aliases: []string{"ends with"},
	PrepareScalar: affixPrep(strings.HasSuffix, hasSuffixFold), Index: IndexSuffix}
