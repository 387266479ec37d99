package store

import (
	"errors"
	"net/url"
	"testing"
)

func TestParseListOptions(t *testing.T) {
	ok := []struct {
		q    string
		want ListOptions
	}{
		{"", ListOptions{Limit: 40, Page: 0, Sort: "createdAt", Direction: -1}},
		{"limit=1000&page=3&sort=name&direction=1", ListOptions{Limit: 1000, Page: 3, Sort: "name", Direction: 1}},
		{"limit=1&sort=updatedAt&direction=-1&other=x", ListOptions{Limit: 1, Sort: "updatedAt", Direction: -1}},
		// As Tiledesk's clients write them for mongoose's sort.
		{"sort=_id&direction=asc", ListOptions{Limit: 40, Sort: "_id", Direction: 1}},
		{"direction=desc", ListOptions{Limit: 40, Sort: "createdAt", Direction: -1}},
		{"direction=ASCENDING", ListOptions{Limit: 40, Sort: "createdAt", Direction: 1}},
		{"direction=Descending", ListOptions{Limit: 40, Sort: "createdAt", Direction: -1}},
	}
	for _, tc := range ok {
		q, _ := url.ParseQuery(tc.q)
		got, err := ParseListOptions(q)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.q, got, err, tc.want)
		}
	}
	bad := map[string]string{
		"limit=0": "limit", "limit=1001": "limit", "limit=-5": "limit", "limit=abc": "limit", "limit=": "limit",
		"limit=1&limit=2": "limit", "page=-1": "page", "page=1.5": "page", "page=99999999999999999999": "page",
		"sort=": "sort", "sort=status": "sort", "direction=0": "direction", "direction=up": "direction",
		"direction=2": "direction", "direction=": "direction", "direction=asc&direction=desc": "direction",
		"sort=id": "sort", "sort=_ID": "sort", "sort=createdat": "sort",
	}
	for qs, param := range bad {
		q, _ := url.ParseQuery(qs)
		_, err := ParseListOptions(q)
		var pe *ParamError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &pe) || pe.Param != param {
			t.Errorf("%q: %v, want a ParamError for %s", qs, err, param)
		}
	}
}
