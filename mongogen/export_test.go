package mongogen

// TranslateRegex is translateRegex, for the fuzz test.
var TranslateRegex = translateRegex
