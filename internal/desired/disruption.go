package desired

import (
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
// The budget counts members, not Pods: during a migration a member has two healthy Pods, so minAvailable is the
// replica count plus the migrations running, or a concurrent drain of another node could evict a Ready member
// outright while the budget counted the replacement for it.
//
// minAvailable is the replica count, not maxUnavailable 0: an integer minAvailable is the one form the disruption
// controller computes from the Pods alone, without resolving the group's scale subresource. With maxUnavailable 0
// the simulated cluster's controller-manager (v1.37.2) never processed the budget (observedGeneration stayed 0).
func DisruptionBudget(g *peapodv1alpha1.PodGroup, owner *metav1ac.OwnerReferenceApplyConfiguration,
	migrationsRunning int) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	if DrainPolicyOf(g) != peapodv1alpha1.DrainMigrate {
		return nil
	}
	return policyv1ac.PodDisruptionBudget(DisruptionBudgetName(g.Name), g.Namespace).
		WithLabels(SelectorLabels(g.Name)).
		WithOwnerReferences(owner).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMinAvailable(intstr.FromInt(Replicas(g) + max(migrationsRunning, 0))).
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
