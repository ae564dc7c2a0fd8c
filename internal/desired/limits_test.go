package desired

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func TestNameLimits(t *testing.T) {
	cases := map[string]struct {
		derive func(string) []DerivedName
		got    int
		want   int
		// wantBrokenAbove is what breaks one character beyond the limit.
		wantBrokenAbove []string
	}{
		"a group: its headless Service <group>-members must be a DNS-1035 label": {
			derive: GroupDerivedNames, got: MaxGroupNameLength, want: 55,
			wantBrokenAbove: []string{"headless Service <group>-members"},
		},
		"a migration: its name is a label value on the replacement Pod": {
			derive: MigrationDerivedNames, got: MaxMigrationNameLength, want: 63,
			wantBrokenAbove: []string{"label peapod.io/migration=<name> on the replacement Pod"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("limit = %d, want %d", tc.got, tc.want)
			}
			// Every derived name at the limit is valid, whatever letters and digits the name has.
			for _, at := range []string{strings.Repeat("a", tc.got), "z" + strings.Repeat("9", tc.got-1)} {
				if broken := Broken(tc.derive(at)); len(broken) > 0 {
					t.Errorf("at the limit (%d characters), derived names break their rules:\n%s", tc.got,
						strings.Join(broken, "\n"))
				}
			}
			var brokenAbove []string
			for _, n := range tc.derive(strings.Repeat("a", tc.got+1)) {
				if len(n.Must.Check(n.Value)) > 0 {
					brokenAbove = append(brokenAbove, n.What)
				}
			}
			if diff := cmp.Diff(tc.wantBrokenAbove, brokenAbove); diff != "" {
				t.Errorf("one beyond the limit, broken names mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The longest names of a group's objects at the limit, spelled out, so a change to any name is seen here.
func TestGroupDerivedNamesAtTheLimit(t *testing.T) {
	group := strings.Repeat("g", MaxGroupNameLength)
	got := map[string]int{}
	for _, n := range GroupDerivedNames(group) {
		got[n.What] = len(n.Value)
	}
	want := map[string]int{
		"ClusterIP Service <group>":                                55,
		"headless Service <group>-members":                         63,
		"label peapod.io/group=<group>":                            55,
		"member Pod <group>-<ordinal>":                             60,
		"member hostname <group>-<ordinal>":                        60,
		"member DNS name <member>.<group>-members.<namespace>.svc": 60 + 1 + 63 + 1 + 63 + 4,
		"replacement Pod <member>-m<hash>":                         60 + 7,
		"peer ConfigMap <group>-peers":                             61,
		"peer ConfigMap chunk <group>-peers-<k>":                   66,
		"PodDisruptionBudget <group>":                              55,
		"ControllerRevision <group>-<revision>":                    66,
		"claim <template>-<group>-<ordinal>":                       63 + 1 + 60,
		"drain PodMigration":                                       63,
		"drain PodMigration as label peapod.io/migration":          63,
		"update PodMigration":                                      63,
		"update PodMigration as label peapod.io/migration":         63,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived name lengths mismatch (-want +got):\n%s", diff)
	}
}

// The CRDs state the limits as literals (a CEL rule or a marker cannot name a Go constant): the generated CRDs
// must say what the names computed.
func TestCRDsStateTheLimits(t *testing.T) {
	podGroup := readCRD(t, "peapod.io_podgroups.yaml")
	podMigration := readCRD(t, "peapod.io_podmigrations.yaml")
	migrationSpec := podMigration.Properties["spec"]
	cases := map[string]struct {
		got  string
		want int
	}{
		"PodGroup metadata.name rule": {
			got: ruleLimit(t, podGroup, `^self\.metadata\.name\.size\(\) <= (\d+)$`), want: MaxGroupNameLength,
		},
		"PodGroup metadata.name message": {
			got: ruleLimit(t, podGroup, `^metadata\.name must be at most (\d+) characters`), want: MaxGroupNameLength,
		},
		"PodGroup spec.replicas maximum": {
			got: fmt.Sprint(*podGroup.Properties["spec"].Properties["replicas"].Maximum), want: MaxOrdinal + 1,
		},
		"PodMigration metadata.name rule": {
			// Checked on create only: a name never changes, and one admitted before the limit keeps its status writes.
			got:  ruleLimit(t, podMigration, `^oldSelf\.hasValue\(\) \|\| self\.metadata\.name\.size\(\) <= (\d+)$`),
			want: MaxMigrationNameLength,
		},
		"PodMigration metadata.name message": {
			got: ruleLimit(t, podMigration, `^metadata\.name must be at most (\d+) characters`), want: MaxMigrationNameLength,
		},
		"PodMigration spec.group maxLength": {
			got: fmt.Sprint(*migrationSpec.Properties["group"].MaxLength), want: MaxGroupNameLength,
		},
		"PodMigration spec.member maximum": {
			got: fmt.Sprint(*migrationSpec.Properties["member"].Maximum), want: MaxOrdinal,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.got != strconv.Itoa(tc.want) {
				t.Errorf("the CRD says %s, the names allow %d: run make manifests after changing the marker", tc.got, tc.want)
			}
		})
	}
}

func readCRD(t *testing.T, file string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("%s has %d versions, want 1", file, len(crd.Spec.Versions))
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema
}

// ruleLimit finds the number in the one root CEL rule or message matching pattern.
func ruleLimit(t *testing.T, schema *apiextensionsv1.JSONSchemaProps, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var found []string
	for _, r := range schema.XValidations {
		for _, s := range []string{r.Rule, r.Message} {
			if m := re.FindStringSubmatch(s); m != nil {
				found = append(found, m[1])
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d root rules match %s, want 1: %v", len(found), pattern, found)
	}
	return found[0]
}
