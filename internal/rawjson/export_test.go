package rawjson

// RefValidateCollect is the reference validator (ref_test.go), for the
// benchmarks of package rawjson_test.
var RefValidateCollect = refValidateCollect
