package desired

import (
	"time"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// DefaultFailureAfter is spec.migration.nodeFailure.after when unset.
const DefaultFailureAfter = 20 * time.Second

// FailurePolicyOf is spec.migration.nodeFailure with its defaults: how long a node may be silent or NotReady
// before its members are replaced, and whether the group waits for the node to be fenced first.
func FailurePolicyOf(g *peapodv1alpha1.PodGroup) (after time.Duration, fencingRequired bool) {
	after = DefaultFailureAfter
	if m := g.Spec.Migration; m != nil && m.NodeFailure != nil {
		if m.NodeFailure.After != nil {
			after = m.NodeFailure.After.Duration
		}
		fencingRequired = m.NodeFailure.Fencing == peapodv1alpha1.FencingRequired
	}
	return after, fencingRequired
}

// MaxConcurrentMigrations is spec.migration.maxConcurrentMigrations; 0 means no cap.
func MaxConcurrentMigrations(g *peapodv1alpha1.PodGroup) int {
	if m := g.Spec.Migration; m != nil && m.MaxConcurrentMigrations != nil {
		return int(*m.MaxConcurrentMigrations)
	}
	return 0
}
