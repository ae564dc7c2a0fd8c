package desired

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// DisruptionBudgetName names the PodDisruptionBudget of a group whose drain policy is Migrate.
func DisruptionBudgetName(group string) string { return group }

// DisruptionBudget turns an eviction of a Ready member into a signal instead of a kill: it wants all members
// healthy, so `kubectl drain` keeps retrying while peapod moves the member off the cordoned node, and the
// eviction finds the old Pod gone once the replacement is Ready. Members that are not Ready may always be evicted
// (unhealthyPodEvictionPolicy AlwaysAllow): a crashing member never blocks a drain. Nil when drains evict.
//
// The budget counts members, not Pods: during a migration a member has two healthy Pods, and a scale-down's or a
// cancelled migration's leftover is a healthy Pod of no member, so minAvailable is the larger of the replica
// count and the live Pods, plus the migrations running (a replacement just created is not listed yet): otherwise
// a concurrent drain of another node could evict a Ready member outright while the budget counted another Pod
// for it. peapod moves members itself; the budget's job is only to refuse evictions of Ready ones.
//
// minAvailable is the replica count, not maxUnavailable 0: an integer minAvailable is the one form the disruption
// controller computes from the Pods alone, without resolving the group's scale subresource. With maxUnavailable 0
// the simulated cluster's controller-manager (v1.37.2) never processed the budget (observedGeneration stayed 0).
func DisruptionBudget(g *peapodv1alpha1.PodGroup, owner *metav1ac.OwnerReferenceApplyConfiguration,
	livePods, migrationsRunning int) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	if DrainPolicyOf(g) != peapodv1alpha1.DrainMigrate {
		return nil
	}
	return policyv1ac.PodDisruptionBudget(DisruptionBudgetName(g.Name), g.Namespace).
		WithLabels(SelectorLabels(g.Name)).
		WithOwnerReferences(owner).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMinAvailable(intstr.FromInt(max(Replicas(g), livePods) + max(migrationsRunning, 0))).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(g.Name))).
			WithUnhealthyPodEvictionPolicy(policyv1.AlwaysAllow))
}

// DrainPolicyOf is spec.migration.drain with its default.
func DrainPolicyOf(g *peapodv1alpha1.PodGroup) peapodv1alpha1.DrainPolicy {
	if m := g.Spec.Migration; m != nil && m.Drain != "" {
		return m.Drain
	}
	return peapodv1alpha1.DrainMigrate
}

// HasUnshareableClaims says some claim template does not allow ReadWriteMany or ReadOnlyMany: its volume may be
// mounted by one node at a time.
func HasUnshareableClaims(g *peapodv1alpha1.PodGroup) bool {
	return len(UnshareableClaims(g)) > 0
}

// UnshareableClaims names the claim templates whose volumes one node at a time may mount.
func UnshareableClaims(g *peapodv1alpha1.PodGroup) []string {
	var names []string
	for _, t := range g.Spec.VolumeClaimTemplates {
		if !slices.Contains(t.Spec.AccessModes, corev1.ReadWriteMany) && !slices.Contains(t.Spec.AccessModes, corev1.ReadOnlyMany) {
			names = append(names, t.Name)
		}
	}
	return names
}
