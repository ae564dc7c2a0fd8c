package nodehealth

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// SameForDecisions says two versions of a Node agree on everything a verdict about it reads (Judge, Assess): its
// labels (the zone), deletion, schedulability, taints, and the Ready condition's status and reason. The kubelet's
// heartbeats change only the condition's times, and the Lease is the evidence of life, not they.
func SameForDecisions(a, b *corev1.Node) bool {
	return equality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		equality.Semantic.DeepEqual(a.DeletionTimestamp, b.DeletionTimestamp) &&
		a.Spec.Unschedulable == b.Spec.Unschedulable &&
		equality.Semantic.DeepEqual(a.Spec.Taints, b.Spec.Taints) &&
		sameReadiness(readyCondition(a), readyCondition(b))
}

func sameReadiness(a, b *corev1.NodeCondition) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Status == b.Status && a.Reason == b.Reason
}
