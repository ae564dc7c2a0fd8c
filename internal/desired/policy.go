package desired

import (
	"time"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// DefaultFailureAfter is spec.migration.nodeFailure.after when unset.
const DefaultFailureAfter = 20 * time.Second

// FailurePolicyOf is spec.migration.nodeFailure with its defaults: how long a node may be silent or NotReady
// before its members are replaced, and whether the group waits for the node to be fenced first.
//
// A group whose members have claims only one node may mount always waits for fencing, whatever it says: the
// attach/detach controller leaves such a volume attached to an unreachable node until the node is fenced (or for
// its 6-minute maxWaitForUnmountDuration), and a partitioned node may still be writing to it. Replacing the member
// earlier would give it a Pod that cannot start, and after the forced detach two writers on one volume.
func FailurePolicyOf(g *peapodv1alpha1.PodGroup) (after time.Duration, fencingRequired bool) {
	after = DefaultFailureAfter
	if m := g.Spec.Migration; m != nil && m.NodeFailure != nil {
		if m.NodeFailure.After != nil {
			after = m.NodeFailure.After.Duration
		}
		fencingRequired = m.NodeFailure.Fencing == peapodv1alpha1.FencingRequired
	}
	return after, fencingRequired || FencedForClaims(g)
}

// FencedForClaims says the group waits for fencing because of its claims, not because its spec asks for it.
func FencedForClaims(g *peapodv1alpha1.PodGroup) bool {
	if !HasUnshareableClaims(g) {
		return false
	}
	m := g.Spec.Migration
	return m == nil || m.NodeFailure == nil || m.NodeFailure.Fencing != peapodv1alpha1.FencingRequired
}

// MaxConcurrentMigrations is spec.migration.maxConcurrentMigrations; 0 means no cap.
func MaxConcurrentMigrations(g *peapodv1alpha1.PodGroup) int {
	if m := g.Spec.Migration; m != nil && m.MaxConcurrentMigrations != nil {
		return int(*m.MaxConcurrentMigrations)
	}
	return 0
}
