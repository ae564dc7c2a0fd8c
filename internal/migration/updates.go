package migration

import (
	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// Updates decides the PodMigrations of a rolling update with maxSurge: one for each member the plan moves
// make-before-break now (plan.Plan.Surge), named after the member's Pod (UpdateName), so a repeated reconcile starts
// nothing twice; a finished record under that name (the update of that Pod failed) is cleared first, and the move
// starts on the next reconcile. Old records beyond KeptDrainRecords are pruned.
func Updates(g *peapodv1alpha1.PodGroup, migrations []*peapodv1alpha1.PodMigration, surge []*corev1.Pod) DrainWork {
	var work DrainWork
	byName := map[string]*peapodv1alpha1.PodMigration{}
	for _, m := range migrations {
		byName[m.Name] = m
	}
	cleared := map[string]bool{}
	for _, pod := range surge {
		ordinal, ok := desired.OrdinalOf(pod.Labels)
		if !ok {
			continue
		}
		work.startOrClear(g, pod, UpdateName(g.Name, ordinal, pod.UID), peapodv1alpha1.MigrationUpdate, byName, cleared)
	}
	work.Prune = prune(g, migrations, peapodv1alpha1.MigrationUpdate, cleared)
	return work
}

// Moving says which members an active migration moves, and why.
func Moving(migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod) map[int]peapodv1alpha1.MigrationReason {
	moving := map[int]peapodv1alpha1.MigrationReason{}
	for _, m := range migrations {
		if !m.Active() {
			continue
		}
		if ordinal, ok := OrdinalOf(m, pods); ok {
			if _, seen := moving[ordinal]; !seen {
				moving[ordinal] = ReasonOf(m)
			}
		}
	}
	return moving
}
