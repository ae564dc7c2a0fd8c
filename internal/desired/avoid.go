package desired

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// AvoidNodes keeps a Pod off the given nodes by adding `metadata.name NotIn [node]` for each node to every
// required node affinity term (terms are ORed, so each must exclude them; a field selector takes one value per
// requirement, and requirements within a term are ANDed). A replacement needs it: the scheduler still thinks
// a silent node is fine until the controller-manager taints it, 50 s after its last heartbeat by default.
func AvoidNodes(pod *corev1.Pod, nodes []string) {
	sorted := slices.Sorted(slices.Values(nodes))
	avoid := make([]corev1.NodeSelectorRequirement, 0, len(nodes))
	for _, node := range sorted {
		avoid = append(avoid, corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{node}})
	}
	requireFields(pod, avoid)
	if len(sorted) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[peapodv1alpha1.AvoidedNodesAnnotation] = strings.Join(sorted, ",")
	}
}

// AvoidedNodes are the nodes AvoidNodes kept a Pod off.
func AvoidedNodes(pod *corev1.Pod) []string {
	if v := pod.Annotations[peapodv1alpha1.AvoidedNodesAnnotation]; v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// RequireNode lets a Pod be scheduled to one node only. Unlike spec.nodeName it goes through the scheduler, so a
// node the Pod does not fit is reported (PodScheduled False, Unschedulable) instead of the kubelet rejecting it.
func RequireNode(pod *corev1.Pod, node string) {
	requireFields(pod, []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}})
}

// requireFields adds field requirements to every required node affinity term.
func requireFields(pod *corev1.Pod, reqs []corev1.NodeSelectorRequirement) {
	if len(reqs) == 0 {
		return
	}
	required := requiredNodeSelector(pod)
	if len(required.NodeSelectorTerms) == 0 {
		required.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range required.NodeSelectorTerms {
		required.NodeSelectorTerms[i].MatchFields = append(required.NodeSelectorTerms[i].MatchFields, reqs...)
	}
}

// FollowVolumes requires a Pod on the nodes its bound volumes may be used from (their PersistentVolumes' node
// affinity), as the scheduler would anyway. Said in the Pod's own node affinity it also narrows the nodes its
// topology spread counts (nodeAffinityPolicy Honor): a member whose zonal volume leaves one node of the zone free
// is otherwise held Pending by members on nodes of other zones it can never use. Terms are ORed and requirements
// within a term ANDed, so the Pod's terms and each volume's are crossed.
func FollowVolumes(pod *corev1.Pod, volumes []*corev1.NodeSelector) {
	for _, v := range volumes {
		if v == nil || len(v.NodeSelectorTerms) == 0 {
			continue
		}
		required := requiredNodeSelector(pod)
		podTerms := required.NodeSelectorTerms
		if len(podTerms) == 0 {
			podTerms = []corev1.NodeSelectorTerm{{}}
		}
		crossed := make([]corev1.NodeSelectorTerm, 0, len(podTerms)*len(v.NodeSelectorTerms))
		for _, p := range podTerms {
			for _, t := range v.NodeSelectorTerms {
				crossed = append(crossed, corev1.NodeSelectorTerm{
					MatchExpressions: slices.Concat(p.MatchExpressions, t.MatchExpressions),
					MatchFields:      slices.Concat(p.MatchFields, t.MatchFields),
				})
			}
		}
		required.NodeSelectorTerms = crossed
	}
}

// requiredNodeSelector is the Pod's required node affinity, made empty where it has none.
func requiredNodeSelector(pod *corev1.Pod) *corev1.NodeSelector {
	if pod.Spec.Affinity == nil {
		pod.Spec.Affinity = &corev1.Affinity{}
	}
	if pod.Spec.Affinity.NodeAffinity == nil {
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := pod.Spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	return na.RequiredDuringSchedulingIgnoredDuringExecution
}
