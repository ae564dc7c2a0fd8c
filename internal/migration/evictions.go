package migration

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	"k8s.io/apimachinery/pkg/types"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/eviction"
)

// ReasonEvictionWithdrawn: no Eviction hands the member's Pod to peapod any longer (its requesters withdrew, or
// the Eviction passed to another responder) before the replacement was Ready; the member stays where it is.
const ReasonEvictionWithdrawn = "EvictionWithdrawn"

// EvictionName names the PodMigration peapod starts for an Eviction of a member's Pod, as DrainName does.
func EvictionName(group string, ordinal int, pod types.UID) string {
	return desired.MigrationRecordName(group, ordinal, "evict", pod)
}

// Evictions decides the migrations of a group's members whose Pods Evictions hand to peapod (asked, by Pod UID:
// eviction.AskedFor): one per Pod, make-before-break, under the rules of every migration. Each record names its
// Eviction (EvictionAnnotation), whose status the controller keeps current.
func Evictions(g *peapodv1alpha1.PodGroup, migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod,
	members map[int]*corev1.Pod, asked map[types.UID]*lifecyclev1alpha1.Eviction) DrainWork {
	work := moves(g, migrations, pods, members, peapodv1alpha1.MigrationEviction, EvictionName,
		func(pod *corev1.Pod) bool { return asked[pod.UID] != nil })
	for _, m := range work.Start {
		for _, pod := range members {
			if pod.Name == m.Spec.Pod {
				m.Annotations = map[string]string{peapodv1alpha1.EvictionAnnotation: asked[pod.UID].Name}
			}
		}
	}
	return work
}

// EvictionProgress is what a migration peapod started for an Eviction tells it: the migration's own message while
// it runs; done once it failed (the Eviction passes to its next responder), or once it succeeded and the old Pod,
// the Eviction's target, is gone from the group's Pods.
func EvictionProgress(m *peapodv1alpha1.PodMigration, ev *lifecyclev1alpha1.Eviction, pods []*corev1.Pod) eviction.Progress {
	switch m.Status.Phase {
	case peapodv1alpha1.MigrationFailed:
		return eviction.Progress{Done: true, Message: fmt.Sprintf("peapod did not move the member (PodMigration %s): %s; "+
			"the eviction passes to the next responder", m.Name, m.Status.Message)}
	case peapodv1alpha1.MigrationSucceeded:
		for _, pod := range pods {
			if pod.UID == eviction.Target(ev) {
				return eviction.Progress{Message: fmt.Sprintf("%s; waiting for %s to terminate (PodMigration %s)",
					m.Status.Message, pod.Name, m.Name)}
			}
		}
		return eviction.Progress{Done: true, Message: fmt.Sprintf("%s (PodMigration %s)", m.Status.Message, m.Name)}
	}
	message := m.Status.Message
	if message == "" {
		message = "queued"
	}
	return eviction.Progress{Message: fmt.Sprintf("moving the member make-before-break (PodMigration %s): %s", m.Name, message)}
}
