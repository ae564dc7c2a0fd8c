package desired

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestMigrationRecordName(t *testing.T) {
	long := strings.Repeat("g", MaxGroupNameLength) // the longest group name admission lets through
	cases := map[string]struct {
		group   string
		ordinal int
		uid     types.UID
		want    string
	}{
		"a short group: the member's name and the Pod's UID": {
			group: "web", ordinal: 1, uid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", want: "web-1-drain-1b4e28ba",
		},
		"a migrated member's Pod (web-1-m...) is drained under the member's name": {
			group: "web", ordinal: 1, uid: "a0000000-0000-0000-0000-000000000000", want: "web-1-drain-a0000000",
		},
		"the longest group name: shortened to fit a label value, the ordinal kept": {
			group: long, ordinal: 1, uid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
			want: strings.Repeat("g", 40) + "-1-drain-1b4e28ba-" + shortHash(long+"-1"),
		},
		"the longest group name and the highest ordinal": {
			group: long, ordinal: 9999, uid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
			want: strings.Repeat("g", 37) + "-9999-drain-1b4e28ba-" + shortHash(long+"-9999"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := MigrationRecordName(tc.group, tc.ordinal, "drain", tc.uid)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MigrationRecordName() mismatch (-want +got):\n%s", diff)
			}
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Errorf("MigrationRecordName() = %q is no label value: %v", got, errs)
			}
			if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
				t.Errorf("MigrationRecordName() = %q is no object name: %v", got, errs)
			}
			if again := MigrationRecordName(tc.group, tc.ordinal, "drain", tc.uid); again != got {
				t.Errorf("MigrationRecordName() is not deterministic: %q, then %q", got, again)
			}
			if other := MigrationRecordName(tc.group, tc.ordinal, "drain", "ffffffff-0000-0000-0000-000000000000"); other == got {
				t.Errorf("MigrationRecordName() is the same for another Pod: %q", got)
			}
		})
	}
}

func TestMigrationLabelValue(t *testing.T) {
	at := strings.Repeat("m", 62) + "x"
	beyond := strings.Repeat("m", 57) + "." + strings.Repeat("m", 100)
	cases := map[string]struct {
		name string
		want string
	}{
		"a name within a label value is the value": {name: "web-1-drain-1b4e28ba", want: "web-1-drain-1b4e28ba"},
		"a name of 63 characters too":              {name: at, want: at},
		"a longer one is shortened, a hash added, no '.' before the hash": {
			name: beyond, want: strings.Repeat("m", 57) + "-" + shortHash(beyond),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := MigrationLabelValue(tc.name)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MigrationLabelValue() mismatch (-want +got):\n%s", diff)
			}
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Errorf("MigrationLabelValue() = %q is no label value: %v", got, errs)
			}
		})
	}
}
