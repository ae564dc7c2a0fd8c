package desired

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// place adds to a member's spec what spec.placement.spread asks for: an even spread is a topology spread
// constraint, at most one per node or zone a required pod anti-affinity, both over the group's Pods.
func place(spec *corev1.PodSpec, group string, placement *peapodv1alpha1.Placement) {
	if placement == nil {
		return
	}
	switch placement.Spread {
	case peapodv1alpha1.SpreadNode:
		spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, evenSpread(group, corev1.LabelHostname))
	case peapodv1alpha1.SpreadZone:
		spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, evenSpread(group, corev1.LabelTopologyZone))
	case peapodv1alpha1.SpreadOnePerNode:
		onePer(spec, group, corev1.LabelHostname)
	case peapodv1alpha1.SpreadOnePerZone:
		onePer(spec, group, corev1.LabelTopologyZone)
	}
}

// evenSpread is hard spreading over the nodes a member may use: cordoned, tainted and unselected nodes do not
// count, so a dead or drained node never blocks a replacement.
func evenSpread(group, key string) corev1.TopologySpreadConstraint {
	honor := corev1.NodeInclusionPolicyHonor
	return corev1.TopologySpreadConstraint{
		MaxSkew:            1,
		TopologyKey:        key,
		WhenUnsatisfiable:  corev1.DoNotSchedule,
		LabelSelector:      &metav1.LabelSelector{MatchLabels: SelectorLabels(group)},
		NodeAffinityPolicy: &honor,
		NodeTaintsPolicy:   &honor,
	}
}

// onePer keeps a member off any node (or zone) where another Pod of the group runs, its own old Pod during a
// migration included: the replacement goes to a free node or waits for one.
func onePer(spec *corev1.PodSpec, group, key string) {
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.PodAntiAffinity == nil {
		spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	anti := spec.Affinity.PodAntiAffinity
	anti.RequiredDuringSchedulingIgnoredDuringExecution = append(anti.RequiredDuringSchedulingIgnoredDuringExecution,
		corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: SelectorLabels(group)}, TopologyKey: key})
}
