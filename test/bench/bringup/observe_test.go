package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetricLabel(t *testing.T) {
	line := `apiserver_request_total{code="201",component="apiserver",dry_run="All",group="",resource="pods",scope="resource",subresource="binding",verb="POST",version="v1"} 1000`
	for _, tc := range []struct{ name, want string }{
		{"code", "201"}, // the first label, after the brace
		{"resource", "pods"},
		{"subresource", "binding"},
		{"verb", "POST"},
		{"group", ""},   // present and empty
		{"run", ""},     // a suffix of dry_run is not that label
		{"missing", ""}, // absent
	} {
		if got := metricLabel(line, tc.name); got != tc.want {
			t.Errorf("metricLabel(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRequestCountsSince(t *testing.T) {
	before := requestCounts{byKind: map[string]float64{"POST pods": 10, "GET pods": 5, "PUT leases": 3}}
	after := requestCounts{byKind: map[string]float64{"POST pods": 110, "GET pods": 5, "PUT leases": 4, "POST services": 50}}
	// Unchanged kinds are left out, the most first, ties by name.
	want := []string{"POST pods 100", "POST services 50", "PUT leases 1"}
	if diff := cmp.Diff(want, after.since(before)); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
}
