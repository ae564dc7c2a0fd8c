package desired

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxOrdinal is the highest ordinal a member can have: spec.replicas is at most 10000.
const MaxOrdinal = 9999

// NameRule is what Kubernetes requires of a name or a label value, as k8s.io/apimachinery checks it.
type NameRule struct {
	// Is describes the rule, e.g. "a DNS label".
	Is string
	// Check returns why a value breaks the rule; none when it keeps it.
	Check func(string) []string
}

// The rules the names peapod derives must keep.
var (
	// DNSLabel: a hostname, a volume name (RFC 1123 label, at most 63 characters).
	DNSLabel = NameRule{Is: "a DNS label", Check: validation.IsDNS1123Label}
	// DNS1035Label: a Service name (starts with a letter, at most 63 characters).
	DNS1035Label = NameRule{Is: "a DNS-1035 label", Check: validation.IsDNS1035Label}
	// DNSSubdomain: most objects' names (Pods, ConfigMaps, PodDisruptionBudgets, claims, revisions), at most 253.
	DNSSubdomain = NameRule{Is: "a DNS subdomain", Check: validation.IsDNS1123Subdomain}
	// LabelValue: a label's value, at most 63 characters.
	LabelValue = NameRule{Is: "a label value", Check: validation.IsValidLabelValue}
)

// DerivedName is one name or label value peapod makes from a group's or a migration's name.
type DerivedName struct {
	// What says what it names, e.g. "headless Service <group>-members".
	What string
	// Value is the name, at its longest for the group or migration name it was made from.
	Value string
	// Must is the rule it has to keep.
	Must NameRule
}

// Longest stand-ins for what a derived name adds to the group's name.
const (
	// longestClaimTemplateLength: a claim template's name is a DNS label (the admission policy checks it).
	longestClaimTemplateLength = validation.DNS1123LabelMaxLength
	// longestNamespaceLength: a namespace's name is a DNS label.
	longestNamespaceLength = validation.DNS1123LabelMaxLength
	// longestUID: an object's UID, as the API server makes it.
	longestUID = types.UID("ffffffff-ffff-ffff-ffff-ffffffffffff")
	// longestRevisionLength: Hash encodes a 32-bit FNV hash's decimal digits, at most 10.
	longestRevisionLength = len("4294967295")
)

// GroupDerivedNames lists every name and label value peapod makes from a group's name, each at its longest: the
// highest ordinal, the longest claim template and namespace names, the longest revision. A group name is
// admitted only if all of them keep their rules (MaxGroupNameLength).
func GroupDerivedNames(group string) []DerivedName {
	member := MemberName(group, MaxOrdinal)
	claimTemplate := strings.Repeat("c", longestClaimTemplateLength)
	namespace := strings.Repeat("n", longestNamespaceLength)
	revision := strings.Repeat("r", longestRevisionLength)
	drain := MigrationRecordName(group, MaxOrdinal, "drain", longestUID)
	update := MigrationRecordName(group, MaxOrdinal, "update", longestUID)
	return []DerivedName{
		{What: "ClusterIP Service <group>", Value: ServiceName(group), Must: DNS1035Label},
		{What: "headless Service <group>-members", Value: HeadlessServiceName(group), Must: DNS1035Label},
		{What: "label peapod.io/group=<group>", Value: group, Must: LabelValue},
		{What: "member Pod <group>-<ordinal>", Value: member, Must: DNSSubdomain},
		{What: "member hostname <group>-<ordinal>", Value: member, Must: DNSLabel},
		{What: "member DNS name <member>.<group>-members.<namespace>.svc",
			Value: MemberDNS(group, namespace, MaxOrdinal), Must: DNSSubdomain},
		{What: "replacement Pod <member>-m<hash>", Value: ReplacementName(member, longestUID), Must: DNSSubdomain},
		{What: "peer ConfigMap <group>-peers", Value: PeersConfigMapName(group), Must: DNSSubdomain},
		{What: "peer ConfigMap chunk <group>-peers-<k>", Value: PeersConfigMapName(group) + "-" + strconv.Itoa(MaxOrdinal),
			Must: DNSSubdomain},
		{What: "PodDisruptionBudget <group>", Value: DisruptionBudgetName(group), Must: DNSSubdomain},
		{What: "ControllerRevision <group>-<revision>", Value: ControllerRevisionName(group, revision), Must: DNSSubdomain},
		{What: "claim <template>-<group>-<ordinal>", Value: ClaimName(claimTemplate, group, MaxOrdinal), Must: DNSSubdomain},
		{What: "drain PodMigration", Value: drain, Must: DNSSubdomain},
		{What: "drain PodMigration as label peapod.io/migration", Value: drain, Must: LabelValue},
		{What: "update PodMigration", Value: update, Must: DNSSubdomain},
		{What: "update PodMigration as label peapod.io/migration", Value: update, Must: LabelValue},
	}
}

// MigrationDerivedNames lists the names and label values peapod makes from a PodMigration's name. The label is the
// name itself, so `kubectl get pods -l peapod.io/migration=<name>` finds the replacement (MigrationLabelValue
// shortens only a name admitted before this limit).
func MigrationDerivedNames(migration string) []DerivedName {
	return []DerivedName{
		{What: "PodMigration <name>", Value: migration, Must: DNSSubdomain},
		{What: "label peapod.io/migration=<name> on the replacement Pod", Value: migration, Must: LabelValue},
	}
}

// Broken lists the derived names that break their rule, as "<what>: <why>".
func Broken(names []DerivedName) []string {
	var broken []string
	for _, n := range names {
		for _, why := range n.Must.Check(n.Value) {
			broken = append(broken, n.What+" ("+strconv.Itoa(len(n.Value))+" characters): "+why)
		}
	}
	return broken
}

// longestFitting is the longest name (of letters) all of whose derived names keep their rules.
func longestFitting(derive func(string) []DerivedName) int {
	for n := validation.DNS1123SubdomainMaxLength; n > 0; n-- {
		if len(Broken(derive(strings.Repeat("a", n)))) == 0 {
			return n
		}
	}
	return 0
}

// The longest names admission lets through: the PodGroup and PodMigration CRDs state them as literals (CEL rules
// and markers keep no Go constants), and a test checks the generated CRDs against these.
var (
	// MaxGroupNameLength is 55: the headless Service <group>-members must be a DNS-1035 label (8 more), tighter
	// than the member's hostname <group>-9999 (5 more) and the label peapod.io/group.
	MaxGroupNameLength = longestFitting(GroupDerivedNames)
	// MaxMigrationNameLength is 63: a PodMigration's name is the value of its replacement's peapod.io/migration
	// label.
	MaxMigrationNameLength = longestFitting(MigrationDerivedNames)
)
