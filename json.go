package segmatch

import "github.com/tidwall/gjson"

// parseRaw wraps validated raw JSON for gjson without copying it.
func parseRaw(raw []byte) gjson.Result {
	return gjson.Parse(bytesString(raw))
}
