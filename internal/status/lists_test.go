package status

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// names are the member names web-<from>..web-<to-1>.
func names(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("web-%d", i))
	}
	return out
}

// evens are the member names web-<from>, web-<from+2>, ... below to: no runs.
func evens(from, to int) []string {
	var out []string
	for i := from; i < to; i += 2 {
		out = append(out, fmt.Sprintf("web-%d", i))
	}
	return out
}

func TestMemberNames(t *testing.T) {
	cases := map[string]struct {
		names []string
		limit int
		want  string
	}{
		"one":                          {names: []string{"web-0"}, limit: 100, want: "web-0"},
		"two in a row stay two":        {names: names(0, 2), limit: 100, want: "web-0, web-1"},
		"three in a row are a range":   {names: names(0, 3), limit: 100, want: "web-0..web-2"},
		"the most members":             {names: names(0, 10000), limit: 100, want: "web-0..web-9999"},
		"by ordinal, not as text":      {names: []string{"web-10", "web-9", "web-2", "web-11", "web-12"}, limit: 100, want: "web-2, web-9..web-12"},
		"runs and gaps":                {names: append(append(names(0, 4), "web-7"), names(9, 12)...), limit: 100, want: "web-0..web-3, web-7, web-9..web-11"},
		"twice the same name":          {names: []string{"web-1", "web-1"}, limit: 100, want: "web-1"},
		"other names after members":    {names: []string{"web-2-m4c1d9", "web-3", "web-1"}, limit: 100, want: "web-1, web-3, web-2-m4c1d9"},
		"a leading zero is no ordinal": {names: []string{"web-01", "web-1"}, limit: 100, want: "web-1, web-01"},
		"another group's names":        {names: []string{"web-x-1", "web-0"}, limit: 100, want: "web-0, web-x-1"},
		"none":                         {limit: 100, want: ""},
		"what does not fit is counted": {names: evens(0, 20), limit: 40, want: "web-0, web-2, web-4, web-6 and 6 more"},
		"a range left out counts its members": {names: append(append(names(0, 50), "web-100"), names(200, 300)...), limit: 30,
			want: "web-0..web-49 and 101 more"},
		"nothing fits": {names: names(100, 200), limit: 10, want: "100 more"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := MemberNames("web", tc.names, tc.limit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if len(got) > tc.limit {
				t.Errorf("%d bytes, more than %d", len(got), tc.limit)
			}
		})
	}
}

func TestJoinCapped(t *testing.T) {
	cases := map[string]struct {
		items []string
		limit int
		want  string
	}{
		"all fit":      {items: []string{"web-1 on n1", "web-3 on n2"}, limit: 100, want: "web-1 on n1, web-3 on n2"},
		"exactly fits": {items: []string{"abc", "def"}, limit: 8, want: "abc, def"},
		"one too many": {items: []string{"abc", "def", "ghi", "jkl"}, limit: 16, want: "abc and 3 more"},
		"none":         {limit: 10, want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := JoinCapped(tc.items, tc.limit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMemberNamesWorstCase: 5000 members with gaps between all of them (no run to shorten), the longest group
// name, stay within an event note.
func TestMemberNamesWorstCase(t *testing.T) {
	group := strings.Repeat("g", 52)
	var all []string
	for i := 0; i < 10000; i += 2 {
		all = append(all, fmt.Sprintf("%s-%d", group, i))
	}
	const prefix = "Created 5000 member Pods: "
	got := prefix + MemberNames(group, all, MaxEventNote-len(prefix))
	if len(got) > MaxEventNote {
		t.Errorf("%d bytes, more than an event note's %d", len(got), MaxEventNote)
	}
	if !strings.HasSuffix(got, " more") {
		t.Errorf("the names left out are not counted: %q", got)
	}
}
