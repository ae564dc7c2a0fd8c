// Package desired builds the objects a PodGroup should have (member Pods, Services, the peer ConfigMap) from its
// spec alone: pure functions, no client, no clock.
package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// MemberName is the stable name of a member's Pod, and its hostname.
func MemberName(group string, ordinal int) string { return fmt.Sprintf("%s-%d", group, ordinal) }

// HeadlessServiceName names the headless Service that gives every member a DNS name.
func HeadlessServiceName(group string) string { return group + "-members" }

// ServiceName names the ClusterIP Service in front of the Ready members.
func ServiceName(group string) string { return group }

// PeersConfigMapName names the ConfigMap with the live peer list.
func PeersConfigMapName(group string) string { return group + "-peers" }

// ReplacementName is the name of a migration's replacement Pod: the member's name and a suffix from the
// migration's UID, so a manager restarted after creating it finds it again, and two migrations never share one.
// Its hostname stays the member's name: the replacement's own name need only be a Pod name (a DNS subdomain).
func ReplacementName(member string, migration types.UID) string {
	return member + "-m" + shortHash(string(migration))
}

// MigrationLabelValue is the value of the peapod.io/migration label for a PodMigration: its name, which admission
// keeps within a label value's 63 characters; a longer one (admitted before that limit) is shortened and a hash
// of the whole name added, so its replacement can still be labelled.
func MigrationLabelValue(migration string) string {
	if len(migration) <= validation.LabelValueMaxLength {
		return migration
	}
	suffix := "-" + shortHash(migration)
	return strings.TrimRight(migration[:validation.LabelValueMaxLength-len(suffix)], "-.") + suffix
}

// MigrationRecordName names a PodMigration peapod starts itself for a member's Pod (kind "drain" or "update"): the
// member's name (not its Pod's, which is longer once the member has migrated) and the start of the Pod's UID, so
// a repeated reconcile creates nothing twice. The name is also the value of the replacement's migration label: one
// too long for a label value (63 characters, a group name of 47 or more) has the group's name shortened and a hash
// of the member's name added, the ordinal kept.
func MigrationRecordName(group string, ordinal int, kind string, pod types.UID) string {
	member := MemberName(group, ordinal)
	uid := string(pod)[:min(8, len(pod))]
	if name := member + "-" + kind + "-" + uid; len(name) <= validation.LabelValueMaxLength {
		return name
	}
	suffix := fmt.Sprintf("-%d-%s-%s-%s", ordinal, kind, uid, shortHash(member))
	return strings.TrimRight(group[:max(validation.LabelValueMaxLength-len(suffix), 1)], "-.") + suffix
}

// shortHash is 5 hex digits of a string's SHA-256.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:5]
}

// MemberDNS is a member's stable DNS name.
func MemberDNS(group, namespace string, ordinal int) string {
	return fmt.Sprintf("%s.%s.%s.svc", MemberName(group, ordinal), HeadlessServiceName(group), namespace)
}

// ServiceDNS is the DNS name of the group's ClusterIP Service.
func ServiceDNS(group, namespace string) string {
	return fmt.Sprintf("%s.%s.svc", ServiceName(group), namespace)
}

// PeerDNSNames lists the stable DNS names of all members, by ordinal.
func PeerDNSNames(group, namespace string, replicas int) []string {
	names := make([]string, replicas)
	for i := range names {
		names[i] = MemberDNS(group, namespace, i)
	}
	return names
}

// SelectorLabels select every member of a group.
func SelectorLabels(group string) map[string]string {
	return map[string]string{peapodv1alpha1.GroupLabel: group}
}

// OrdinalOf reads a member Pod's ordinal from its label; ok is false when it is missing or malformed.
func OrdinalOf(labels map[string]string) (ordinal int, ok bool) {
	v, found := labels[peapodv1alpha1.OrdinalLabel]
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Replicas is spec.replicas with its default.
func Replicas(g *peapodv1alpha1.PodGroup) int {
	if g.Spec.Replicas == nil {
		return 1
	}
	return int(*g.Spec.Replicas)
}
