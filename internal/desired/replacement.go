package desired

import (
	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// ReplacementPod builds the Pod that takes over member ordinal in a migration: the member's Pod in every way
// that makes its identity (hostname, DNS name under the headless Service, ordinal label, env), under its own
// Pod name since the old Pod still runs, labelled with the migration, kept off the nodes to avoid and sent to
// the migration's target. The caller sets the owner reference.
func ReplacementPod(g *peapodv1alpha1.PodGroup, shape Shape, ordinal int, name string, m *peapodv1alpha1.PodMigration,
	avoid []string) *corev1.Pod {
	pod := MemberPod(g, shape, ordinal)
	pod.Name = name
	pod.Labels[peapodv1alpha1.MigrationLabel] = MigrationLabelValue(m.Name)
	AvoidNodes(pod, avoid)
	if t := m.Spec.Target; t != nil {
		if t.NodeName != "" {
			RequireNode(pod, t.NodeName)
		}
		if len(t.NodeSelector) > 0 {
			if pod.Spec.NodeSelector == nil {
				pod.Spec.NodeSelector = map[string]string{}
			}
			for key, value := range t.NodeSelector {
				pod.Spec.NodeSelector[key] = string(value)
			}
		}
	}
	return pod
}
