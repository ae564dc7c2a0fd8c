package migration

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
)

// A member whose claims one node may mount at a time cannot run beside its replacement: the volume would have to
// be attached to two nodes. It moves stop-then-start: the old Pod is deleted gracefully (its containers stop, the
// kubelet unmounts, the attach/detach controller detaches), and the replacement, with the same claims, is created
// only once the old Pod is gone. The member is down meanwhile, so the group's budget bounds how many are.

// stopFirst says the group's members move stop-then-start.
func (in Input) stopFirst() bool {
	return in.Group != nil && desired.HasUnshareableClaims(in.Group)
}

// stopBudget is how many members may be down at once for stop-then-start moves: maxConcurrentMigrations, else 1.
func (in Input) stopBudget() int {
	return max(in.MaxRunning, 1)
}

// membersDown counts the group's other members that have no Ready Pod, or are being moved (a stop just asked for
// may not show yet).
func (in Input) membersDown(except int) int {
	ready := map[int]bool{}
	for _, pod := range in.Pods {
		if o, ok := desired.OrdinalOf(pod.Labels); ok && pod.DeletionTimestamp == nil && plan.Ready(pod) {
			ready[o] = true
		}
	}
	down := 0
	for o := range in.Replicas {
		if o != except && (in.Moving[o] || !ready[o]) {
			down++
		}
	}
	return down
}

// stop begins a stop-then-start move: the status first (the controller writes it before the delete, so the group
// holds the member's identity for the replacement from then on), then the old Pod's graceful delete.
func (in Input) stop(s Step, member string, source *corev1.Pod) Step {
	st := &s.Status
	if down, budget := in.membersDown(s.Ordinal), in.stopBudget(); down >= budget {
		st.Message = fmt.Sprintf("waiting: member %s stops to move (%s), and %d other members are down or moving: at most %d at once "+
			"(spec.migration.maxConcurrentMigrations, default 1)", member, in.unshareable(), down, budget)
		return s
	}
	s.Action, s.Pod = StopSource, source
	st.Phase, st.Mode = peapodv1alpha1.MigrationRunning, peapodv1alpha1.StopThenStart
	st.SourcePod, st.SourceNode = source.Name, source.Spec.NodeName
	st.StartTime = ptr.To(metav1.NewTime(in.Now))
	st.Message = fmt.Sprintf("stopping %s on node %s: member %s moves stop-then-start (%s); it starts elsewhere, with the same "+
		"claims, once stopped", source.Name, st.SourceNode, member, in.unshareable())
	setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, "StoppingSource", st.Message, in.Now)
	return s
}

// followStop walks a stop-then-start move on: the old Pod stopping, then the replacement created and Ready.
func (in Input) followStop(s Step, member string, replacement *corev1.Pod) Step {
	st := &s.Status
	if replacement != nil {
		return in.followStarted(s, member, replacement)
	}
	source := in.podNamed(st.SourcePod)
	switch {
	case source != nil && source.DeletionTimestamp == nil:
		// The status landed and the delete did not (the manager stopped in between), or the cache is behind it.
		s.Action, s.Pod = StopSource, source
		return s
	case source != nil && in.awaitingFencing(source.Spec.NodeName):
		st.Message = fmt.Sprintf("waiting: %s is stopping on node %s, which is unhealthy (%s); its volumes stay attached there until "+
			"it is gone: %s", source.Name, source.Spec.NodeName, in.Nodes[source.Spec.NodeName].Reason, fenceHint)
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, ReasonAwaitingFencing, st.Message, in.Now)
		return s
	case source != nil:
		st.Message = fmt.Sprintf("waiting for %s to stop on node %s", source.Name, source.Spec.NodeName)
		return s
	case st.ReplacementPod != "":
		// Created, and gone since: the group recreates the member once the migration no longer holds it.
		return in.fail(s, nil, peapodv1alpha1.ReasonReplacementFailed,
			fmt.Sprintf("replacement Pod %s was deleted; the group recreates member %s", st.ReplacementPod, member))
	}
	s.Action = CreateReplacement
	s.AvoidSource, s.NewRevision = in.keepsOffSource(), true
	st.ReplacementPod = ReplacementName(member, in.Migration)
	st.Message = fmt.Sprintf("%s stopped on node %s; starting %s for member %s with the same claims",
		st.SourcePod, st.SourceNode, st.ReplacementPod, member)
	setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, "Starting", st.Message, in.Now)
	return s
}

// followStarted waits for a stop-then-start replacement to be Ready. It is the member's only Pod: whatever befalls
// it (its node fails, it stops) is the group's to handle, as for any member, and the migration ends without
// removing it.
func (in Input) followStarted(s Step, member string, replacement *corev1.Pod) Step {
	st := &s.Status
	st.ReplacementPod, st.TargetNode = replacement.Name, replacement.Spec.NodeName
	if since, ready := plan.ReadySince(replacement); ready {
		st.ReplacementReadyTime = ptr.To(metav1.NewTime(since))
		if st.StartTime != nil {
			st.Downtime = &metav1.Duration{Duration: since.Sub(st.StartTime.Time).Round(time.Millisecond)}
		}
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, true, "Ready",
			fmt.Sprintf("%s is Ready on node %s", replacement.Name, replacement.Spec.NodeName), in.Now)
		return in.finish(s, peapodv1alpha1.MigrationSucceeded, "Migrated", fmt.Sprintf(
			"member %s moved stop-then-start from node %s to node %s with its claims; down %s", member, st.SourceNode,
			st.TargetNode, downtimeOf(st)))
	}
	switch {
	case replacement.Spec.NodeName != "" && in.failed(replacement.Spec.NodeName):
		return in.fail(s, nil, peapodv1alpha1.ReasonReplacementFailed, fmt.Sprintf(
			"the node of %s, %s, failed before it was Ready; the group replaces member %s there", replacement.Name,
			replacement.Spec.NodeName, member))
	case plan.Finished(replacement):
		return in.fail(s, nil, peapodv1alpha1.ReasonReplacementFailed, fmt.Sprintf(
			"%s stopped (%s %s) before it was Ready; the group recreates member %s", replacement.Name,
			replacement.Status.Phase, replacement.Status.Reason, member))
	}
	if in.staleAvoidance(replacement) {
		// Kept off a node healthy again: removed, and started again with the nodes to avoid now.
		s.Action, s.Pod, st.ReplacementPod = RemoveReplacement, replacement, ""
		st.Message = fmt.Sprintf("restarting %s: it waits, unscheduled, kept off nodes %v of which some are healthy again",
			replacement.Name, desired.AvoidedNodes(replacement))
		return s
	}
	if why, unschedulable := plan.Unschedulable(replacement); unschedulable {
		if ReasonOf(in.Migration) != peapodv1alpha1.MigrationDrain {
			// The member is down: rather than wait for room that may never come, the group recreates it where the
			// scheduler puts it, maybe back on its old node. A drained member has no old node to go back to.
			return in.fail(s, replacement, peapodv1alpha1.ReasonUnschedulable,
				fmt.Sprintf("member %s has no room off node %s (%s): the group recreates it where it fits", member, st.SourceNode, why))
		}
		st.Message = fmt.Sprintf("waiting for room for %s: %s", replacement.Name, why)
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, peapodv1alpha1.ReasonWaitingForCapacity, st.Message, in.Now)
		return s
	}
	st.Message = fmt.Sprintf("waiting for %s to be Ready on node %s (its volumes attach there first)", replacement.Name,
		orUnscheduled(replacement.Spec.NodeName))
	return s
}

// keepsOffSource says the move's replacement is kept off its source's node on purpose. A make-before-break one
// is (the source runs there), but for a rolling update's. A stop-then-start one only for a requested move with no target: a drained node
// accepts no Pods while it is drained, and once it does again the member may as well come back there.
func (in Input) keepsOffSource() bool {
	switch reason := ReasonOf(in.Migration); {
	case reason == peapodv1alpha1.MigrationUpdate:
		return false // a rolling update moves no member off its node: it may run its new revision there
	case in.Migration.Status.Mode != peapodv1alpha1.StopThenStart:
		return true
	default:
		return reason != peapodv1alpha1.MigrationDrain && !hasTarget(in.Migration)
	}
}

// unshareable names the claims that make the group's members stop to move.
func (in Input) unshareable() string {
	return "claims " + strings.Join(desired.UnshareableClaims(in.Group), ", ") + " can be mounted by one node at a time"
}

func downtimeOf(st *peapodv1alpha1.PodMigrationStatus) string {
	if st.Downtime == nil {
		return "unknown"
	}
	return st.Downtime.Duration.String()
}

// Held are the members of running stop-then-start moves: their old Pod stops, and the migration, not the group,
// creates the Pod that takes over. The group creates none for them.
func Held(migrations []*peapodv1alpha1.PodMigration) map[int]bool {
	held := map[int]bool{}
	for _, m := range migrations {
		if m.Status.Phase == peapodv1alpha1.MigrationRunning && m.Status.Mode == peapodv1alpha1.StopThenStart && m.Status.Member != nil {
			held[int(*m.Status.Member)] = true
		}
	}
	return held
}

// ConfirmsStop says the source as read now, past any cache, is still what a StopSource step rests on: the Pod the
// step saw, on the node it saw, not stopping yet.
func ConfirmsStop(source *corev1.Pod, step Step) bool {
	return source != nil && source.UID == step.Pod.UID && source.Spec.NodeName == step.Status.SourceNode &&
		source.DeletionTimestamp == nil
}
