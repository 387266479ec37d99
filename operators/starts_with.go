package operators

import "strings"

// starts_with: the string field starts with (one of) the value(s).
var opStartsWith = &Operator{Name: "starts_with", Aliases: []string{"starts with"},
	PrepareScalar: affixPrep(strings.HasPrefix, hasPrefixFold), Index: IndexPrefix}
