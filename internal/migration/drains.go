package migration

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

// KeptDrainRecords is how many finished PodMigrations of drains, and of rolling updates, peapod keeps per group,
// the newest: enough to tell the recent story, few enough that a group drained every night does not pile them up.
const KeptDrainRecords = 10

// DrainWork is what a group's drains need written.
type DrainWork struct {
	// Start are the PodMigrations to create, one per member on a healthy node being drained that no migration
	// moves yet. The name comes from the member and its Pod's UID (DrainName): a repeated reconcile creates
	// nothing twice.
	Start []*peapodv1alpha1.PodMigration
	// Clear are finished drain records under a name a new drain needs: the same Pod's node drained again after
	// an earlier drain of it ended (cancelled by an uncordon, or failed). Deleted first, the drain starts on the
	// next reconcile.
	Clear []*peapodv1alpha1.PodMigration
	// Prune are the oldest finished drain records peapod created, beyond KeptDrainRecords. Those a user created
	// are the user's to delete.
	Prune []*peapodv1alpha1.PodMigration
}

// Drains decides the drain migrations of a group from its migrations (oldest first), all its Pods, its members by
// ordinal and the verdicts on their nodes.
func Drains(g *peapodv1alpha1.PodGroup, migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod,
	members map[int]*corev1.Pod, verdicts map[string]nodehealth.Verdict) DrainWork {
	drained := func(pod *corev1.Pod) bool { return verdicts[pod.Spec.NodeName].Draining }
	if desired.DrainPolicyOf(g) != peapodv1alpha1.DrainMigrate {
		drained = func(*corev1.Pod) bool { return false }
	}
	return moves(g, migrations, pods, members, peapodv1alpha1.MigrationDrain, DrainName, drained)
}

// moves starts a record of the reason for every member whose Pod must leave (leaves) that no migration moves yet,
// named by the member and its Pod's UID, and prunes the old records of that reason.
func moves(g *peapodv1alpha1.PodGroup, migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod, members map[int]*corev1.Pod,
	reason peapodv1alpha1.MigrationReason, name func(string, int, types.UID) string, leaves func(*corev1.Pod) bool) DrainWork {
	var work DrainWork
	byName := map[string]*peapodv1alpha1.PodMigration{}
	for _, m := range migrations {
		byName[m.Name] = m
	}
	cleared := map[string]bool{}
	moving := ClaimMembers(migrations, pods)
	for _, ordinal := range slices.Sorted(maps.Keys(members)) {
		pod := members[ordinal]
		if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" || !leaves(pod) {
			continue
		}
		if _, busy := moving[ordinal]; busy || ordinal >= desired.Replicas(g) {
			continue
		}
		work.startOrClear(g, pod, name(g.Name, ordinal, pod.UID), reason, byName, cleared)
	}
	work.Prune = prune(g, migrations, reason, cleared)
	return work
}

// startOrClear starts a record of that name for the Pod, unless one exists: a finished one is cleared (the
// move starts on the next reconcile), an active one left alone.
func (work *DrainWork) startOrClear(g *peapodv1alpha1.PodGroup, pod *corev1.Pod, name string, reason peapodv1alpha1.MigrationReason,
	byName map[string]*peapodv1alpha1.PodMigration, cleared map[string]bool) {
	if old, ok := byName[name]; ok {
		if !old.Active() {
			work.Clear = append(work.Clear, old)
			cleared[name] = true
		}
		return
	}
	work.Start = append(work.Start, recordOf(g, pod, name, reason))
}

// prune picks the oldest finished records of one reason peapod created, beyond KeptDrainRecords, but those cleared.
func prune(g *peapodv1alpha1.PodGroup, migrations []*peapodv1alpha1.PodMigration, reason peapodv1alpha1.MigrationReason,
	cleared map[string]bool) []*peapodv1alpha1.PodMigration {
	var finished []*peapodv1alpha1.PodMigration
	for _, m := range migrations {
		if !m.Active() && !cleared[m.Name] && ReasonOf(m) == reason && metav1.IsControlledBy(m, g) {
			finished = append(finished, m)
		}
	}
	return finished[:max(len(finished)-KeptDrainRecords, 0)]
}

// recordOf is a PodMigration peapod starts itself, for a reason, owned by the group.
func recordOf(g *peapodv1alpha1.PodGroup, pod *corev1.Pod, name string,
	reason peapodv1alpha1.MigrationReason) *peapodv1alpha1.PodMigration {
	return &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: g.Namespace,
			Labels: map[string]string{
				peapodv1alpha1.GroupLabel:           g.Name,
				peapodv1alpha1.MigrationReasonLabel: string(reason),
			},
			OwnerReferences: []metav1.OwnerReference{desired.ControllerRef(g)},
		},
		Spec: peapodv1alpha1.PodMigrationSpec{Group: g.Name, Pod: pod.Name},
	}
}
