// Package migration decides the next step of a PodMigration: move one member of a group make-before-break, a
// replacement with the member's identity started on another node, the old Pod retired only once the replacement
// is Ready. Pure: the controller reads the world, asks Next, and does what the step says.
package migration

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
)

// Reasons of the conditions only this package sets.
const (
	// ReasonAwaitingFencing: the source's node is unhealthy and the group requires fencing; nothing is replaced
	// or retired before the node is fenced.
	ReasonAwaitingFencing = "AwaitingFencing"
	// ReasonAwaitingFailover: the source's node failed; the group's failover replaces the member.
	ReasonAwaitingFailover = "AwaitingFailover"
	// ReasonNameTooLong: the PodMigration's name does not fit the label that marks its replacement.
	ReasonNameTooLong = "NameTooLong"
	// ReasonReplacementNodeUnhealthy: the replacement is Ready, but its node shows a failure signal.
	ReasonReplacementNodeUnhealthy = "ReplacementNodeUnhealthy"
	// ReasonDrainCancelled: the drained node is schedulable again before the replacement was Ready; the member
	// stays where it is.
	ReasonDrainCancelled = "DrainCancelled"
)

// Action is the write a step asks for.
type Action string

const (
	// Wait writes no Pod; only the status may change.
	Wait Action = ""
	// CreateReplacement creates the replacement Pod on the target.
	CreateReplacement Action = "CreateReplacement"
	// RetireSource deletes the member's old Pod: the replacement is Ready and becomes the member.
	RetireSource Action = "RetireSource"
	// RemoveReplacement deletes the replacement of a migration that failed; the member stays where it was.
	RemoveReplacement Action = "RemoveReplacement"
	// StopSource deletes the member's old Pod, gracefully, before its replacement exists: a stop-then-start move.
	StopSource Action = "StopSource"
)

// Target is what the controller knows of spec.target.nodeName.
type Target struct {
	Exists        bool
	Unschedulable bool
}

// Input is one migration and what it depends on.
type Input struct {
	Migration *peapodv1alpha1.PodMigration
	// Group is the migration's group, when known.
	Group    *peapodv1alpha1.PodGroup
	Replicas int
	// Pods are all the group's Pods, the migration's replacement among them.
	Pods []*corev1.Pod
	// Target describes spec.target.nodeName, when it is set.
	Target Target
	// MovedBy names another, older active migration of the same member, if any.
	MovedBy string
	// Nodes are the verdicts on the nodes of the group's Pods: the source's and the replacement's among them.
	Nodes map[string]nodehealth.Verdict
	// FencingRequired is spec.migration.nodeFailure.fencing Required: a Pod on a node that may be partitioned is
	// not replaced before the node is known dead.
	FencingRequired bool
	// Running is how many of the group's migrations are running; MaxRunning caps them (0: no cap).
	Running    int
	MaxRunning int
	// Moving are the members of the group's other running migrations: down, or about to be, in a stop-then-start
	// move.
	Moving map[int]bool
	// Avoiding lists the failed nodes new Pods keep off now; with AvoidingKnown unset it was not looked up
	// (no replacement waits, unscheduled, kept off some node: plan.NeedsAvoiding).
	Avoiding      []string
	AvoidingKnown bool
	// Evicting are the Pods, by UID, that Evictions hand to peapod now (eviction.AskedFor): a move for an
	// Eviction whose source is not among them has lost its reason.
	Evicting map[types.UID]*lifecyclev1alpha1.Eviction
	Now      time.Time
}

// Step is what to do next, and the migration's status after it.
type Step struct {
	Action Action
	// Pod is the Pod the action deletes (RetireSource, RemoveReplacement).
	Pod *corev1.Pod
	// Ordinal is the member being moved, when known.
	Ordinal int
	// AvoidSource keeps a CreateReplacement's Pod off the source's node.
	AvoidSource bool
	// NewRevision gives a CreateReplacement's Pod the revision the group creates members with now, not its
	// source's: a rolling update's move, or a stop-then-start one whose source is gone.
	NewRevision bool
	Status      peapodv1alpha1.PodMigrationStatus
}

// ReplacementName is the name of a migration's replacement Pod (desired.ReplacementName, from its UID).
func ReplacementName(member string, m *peapodv1alpha1.PodMigration) string {
	return desired.ReplacementName(member, m.UID)
}

// DrainName names the PodMigration peapod starts for a member on a drained node (desired.MigrationRecordName).
func DrainName(group string, ordinal int, pod types.UID) string {
	return desired.MigrationRecordName(group, ordinal, "drain", pod)
}

// UpdateName names the PodMigration a rolling update with maxSurge starts for a member's Pod, as DrainName does.
func UpdateName(group string, ordinal int, pod types.UID) string {
	return desired.MigrationRecordName(group, ordinal, "update", pod)
}

// ReplacementOf finds a migration's replacement among the group's Pods by what only it has: its name, derived from
// the migration's UID and the member (ReplacementName), and the migration label. The label alone is not enough:
// it stays on the member's Pod after a migration succeeds, and a later PodMigration may reuse the name (re-applying
// the same manifest); taking that Pod for its replacement would adopt the member, or retire another member's Pod.
// Nil when the member is not known, or the replacement does not exist or is being deleted.
func ReplacementOf(m *peapodv1alpha1.PodMigration, pods []*corev1.Pod) *corev1.Pod {
	ordinal, ok := OrdinalOf(m, pods)
	if !ok {
		return nil
	}
	name := ReplacementName(desired.MemberName(m.Spec.Group, ordinal), m)
	for _, pod := range pods {
		if pod.Name == name && pod.Labels[peapodv1alpha1.MigrationLabel] == desired.MigrationLabelValue(m.Name) &&
			pod.DeletionTimestamp == nil {
			return pod
		}
	}
	return nil
}

// Next decides the migration's next step.
func Next(in Input) Step {
	m := in.Migration
	s := Step{Status: *m.Status.DeepCopy()}
	st := &s.Status
	if st.Reason == "" {
		st.Reason = ReasonOf(m)
	}
	if st.Phase == "" {
		st.Phase = peapodv1alpha1.MigrationPending
	}
	replacement := ReplacementOf(m, in.Pods)
	if !m.Active() {
		if st.Phase == peapodv1alpha1.MigrationFailed && replacement != nil {
			s.Action, s.Pod = RemoveReplacement, replacement
		}
		return s
	}
	ordinal, ok := OrdinalOf(m, in.Pods)
	if !ok || ordinal >= in.Replicas {
		return in.fail(s, replacement, peapodv1alpha1.ReasonMemberNotFound, fmt.Sprintf("group %s has no such member", m.Spec.Group))
	}
	s.Ordinal = ordinal
	st.Member = ptr.To(int32(ordinal))
	member := desired.MemberName(m.Spec.Group, ordinal)
	if over, ok := in.moveOver(s, member, replacement); ok {
		return over
	}
	if st.Phase == peapodv1alpha1.MigrationPending {
		if replacement == nil {
			return in.start(s, member)
		}
		in.adopt(&s, replacement)
	}
	if st.Mode == peapodv1alpha1.StopThenStart {
		return in.followStop(s, member, replacement)
	}
	return in.follow(s, member, replacement)
}

// start checks that the member can move and creates its replacement.
func (in Input) start(s Step, member string) Step {
	m, st := in.Migration, &s.Status
	if len(m.Name) > validation.LabelValueMaxLength {
		return in.fail(s, nil, ReasonNameTooLong, fmt.Sprintf("the name of PodMigration %s is %d characters; it becomes the value of "+
			"the replacement's label %s, which holds at most %d: create the PodMigration under a shorter name",
			m.Name, len(m.Name), peapodv1alpha1.MigrationLabel, validation.LabelValueMaxLength))
	}
	if in.MovedBy != "" {
		return in.fail(s, nil, peapodv1alpha1.ReasonAlreadyMigrating,
			fmt.Sprintf("member %s is already being moved by PodMigration %s", member, in.MovedBy))
	}
	source := in.sourceOf(s.Ordinal)
	if st.SourcePod != "" && (source == nil || source.Name != st.SourcePod || source.Spec.NodeName != st.SourceNode) {
		// It waited for the source's node (awaitNode), and the source went away meanwhile: force-deleted by the
		// group's failover once the node was fenced, or evicted. A Pod of the member elsewhere, even under the
		// same name, is the group's recreation: not this migration's to move.
		return in.fail(s, nil, peapodv1alpha1.ReasonSourceGone,
			fmt.Sprintf("Pod %s went away from node %s before the replacement existed; the group recreates member %s",
				st.SourcePod, st.SourceNode, member))
	}
	if source == nil || source.Spec.NodeName == "" {
		return in.fail(s, nil, peapodv1alpha1.ReasonMemberNotFound, fmt.Sprintf("member %s has no Pod running on a node", member))
	}
	if node := targetNode(m); node != "" {
		switch {
		case !in.Target.Exists:
			return in.fail(s, nil, peapodv1alpha1.ReasonTargetNotFound, fmt.Sprintf("target node %s does not exist", node))
		case node == source.Spec.NodeName:
			st.SourcePod, st.SourceNode, st.TargetNode = source.Name, node, node
			return in.finish(s, peapodv1alpha1.MigrationSucceeded, "AlreadyOnTarget",
				fmt.Sprintf("member %s already runs on node %s", member, node))
		case in.Target.Unschedulable:
			return in.fail(s, nil, peapodv1alpha1.ReasonTargetUnschedulable,
				fmt.Sprintf("target node %s is cordoned (spec.unschedulable): it accepts no new Pods", node))
		}
	}
	if waiting, ok := in.awaitNode(s, member, source); ok {
		return waiting
	}
	if waiting, ok := in.awaitOtherCopies(s, member, source); ok {
		return waiting
	}
	if in.MaxRunning > 0 && in.Running >= in.MaxRunning {
		st.Message = fmt.Sprintf("waiting: %d of the group's members are moving (maxConcurrentMigrations %d)", in.Running, in.MaxRunning)
		return s
	}
	if in.stopFirst() {
		return in.stop(s, member, source)
	}
	s.Action, s.Pod, s.AvoidSource = CreateReplacement, source, in.keepsOffSource()
	s.NewRevision = ReasonOf(m) == peapodv1alpha1.MigrationUpdate
	st.Mode = peapodv1alpha1.MakeBeforeBreak
	st.Phase = peapodv1alpha1.MigrationRunning
	st.SourcePod, st.SourceNode = source.Name, source.Spec.NodeName
	st.ReplacementPod = ReplacementName(member, m)
	st.StartTime = ptr.To(metav1.NewTime(in.Now))
	st.Message = fmt.Sprintf("starting %s for member %s, off node %s", st.ReplacementPod, member, st.SourceNode)
	if meta.FindStatusCondition(st.Conditions, peapodv1alpha1.MigrationReplacementReady) != nil {
		// It waited (awaitNode): that reason is over.
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, "Starting", st.Message, in.Now)
	}
	return s
}

// awaitNode holds back a migration whose source's node is unhealthy. Under fencing Required no replacement starts
// while the node is not fenced: the source may still run there, cut off, and would be a second live copy of the
// member. A node judged failed is the group's failover's: it replaces the member (force-deletes the source, the
// member is recreated), and a replacement of this migration's would be one more. The status names the source, so
// the migration ends once that Pod is gone (start).
func (in Input) awaitNode(s Step, member string, source *corev1.Pod) (Step, bool) {
	st := &s.Status
	node := source.Spec.NodeName
	var reason string
	switch {
	case in.awaitingFencing(node):
		reason = ReasonAwaitingFencing
		st.Message = fmt.Sprintf("waiting: node %s of member %s is unhealthy (%s) and the group requires fencing, so no replacement "+
			"starts while %s may still run there: %s", node, member, in.Nodes[node].Reason, source.Name, fenceHint)
	case in.failed(node):
		reason = ReasonAwaitingFailover
		st.Message = fmt.Sprintf("waiting: node %s of member %s failed (%s); the group replaces the member, and this migration "+
			"ends once %s is gone", node, member, in.Nodes[node].Reason, source.Name)
	default:
		return s, false
	}
	st.SourcePod, st.SourceNode = source.Name, node
	setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, reason, st.Message, in.Now)
	return s, true
}

// awaitOtherCopies holds back a migration while its member has a Pod besides the source: a live one (a
// cancelled migration's replacement the group is about to remove) would make three copies, and a terminating one
// on an unhealthy node the group must fence (a retire cut off as the node fell silent) may still run there.
func (in Input) awaitOtherCopies(s Step, member string, source *corev1.Pod) (Step, bool) {
	st := &s.Status
	for _, pod := range in.Pods {
		if o, ok := desired.OrdinalOf(pod.Labels); !ok || o != s.Ordinal || pod == source {
			continue
		}
		reason := ReasonAwaitingFencing
		switch {
		case pod.DeletionTimestamp == nil:
			reason = "AwaitingCleanup"
			st.Message = fmt.Sprintf("waiting: member %s has another Pod, %s, which the group removes first", member, pod.Name)
		case in.awaitingFencing(pod.Spec.NodeName):
			st.Message = fmt.Sprintf("waiting: Pod %s of member %s is terminating on node %s, which is unhealthy (%s), and the group "+
				"requires fencing, so no replacement starts while it may still run there: %s",
				pod.Name, member, pod.Spec.NodeName, in.Nodes[pod.Spec.NodeName].Reason, fenceHint)
		default:
			continue
		}
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, reason, st.Message, in.Now)
		return s, true
	}
	return s, false
}

// fenceHint says how a node is declared dead.
const fenceHint = "taint the node " + nodehealth.OutOfServiceTaint + "=nodeshutdown:NoExecute once it is powered off, or delete the Node"

// adopt takes up a replacement created by a manager that died before it could write the status.
func (in Input) adopt(s *Step, replacement *corev1.Pod) {
	st := &s.Status
	st.Phase, st.ReplacementPod = peapodv1alpha1.MigrationRunning, replacement.Name
	st.StartTime = ptr.To(replacement.CreationTimestamp)
	if source := in.sourceOf(s.Ordinal); source != nil && source != replacement {
		st.SourcePod, st.SourceNode = source.Name, source.Spec.NodeName
	}
}

// follow watches the replacement until it is Ready, then retires the source.
func (in Input) follow(s Step, member string, replacement *corev1.Pod) Step {
	st := &s.Status
	source := in.podNamed(st.SourcePod)
	sourceGone := source == nil || source.DeletionTimestamp != nil
	switch {
	case replacement == nil && sourceGone:
		return in.fail(s, nil, peapodv1alpha1.ReasonSourceGone,
			fmt.Sprintf("Pod %s went away before the replacement existed; the group recreates member %s", st.SourcePod, member))
	case replacement == nil:
		return in.fail(s, nil, peapodv1alpha1.ReasonReplacementFailed, fmt.Sprintf("replacement Pod %s was deleted", st.ReplacementPod))
	}
	st.ReplacementPod, st.TargetNode = replacement.Name, replacement.Spec.NodeName
	since, ready := plan.ReadySince(replacement)
	if ready {
		st.ReplacementReadyTime = ptr.To(metav1.NewTime(since))
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, true, "Ready",
			fmt.Sprintf("%s is Ready on node %s", replacement.Name, replacement.Spec.NodeName), in.Now)
	}
	migrated := fmt.Sprintf("member %s moved from node %s to node %s; %s retired", member, st.SourceNode, st.TargetNode, st.SourcePod)
	switch {
	case sourceGone && ready:
		// Retired, by this step before (its status write may not have landed) or by an eviction.
		return in.finish(s, peapodv1alpha1.MigrationSucceeded, "Migrated", migrated)
	case sourceGone:
		// Nothing to hand over from: the replacement is the member now, Ready or not.
		return in.finish(s, peapodv1alpha1.MigrationSucceeded, peapodv1alpha1.ReasonSourceGone,
			fmt.Sprintf("Pod %s went away first; %s took over member %s", st.SourcePod, replacement.Name, member))
	case in.failed(replacement.Spec.NodeName):
		return in.fail(s, replacement, peapodv1alpha1.ReasonReplacementFailed,
			fmt.Sprintf("the node of replacement Pod %s, %s, failed", replacement.Name, replacement.Spec.NodeName))
	case plan.Finished(replacement):
		return in.fail(s, replacement, peapodv1alpha1.ReasonReplacementFailed,
			fmt.Sprintf("replacement Pod %s stopped (%s %s)", replacement.Name, replacement.Status.Phase, replacement.Status.Reason))
	case ready && in.Nodes[replacement.Spec.NodeName].Unhealthy:
		// Its Ready may be the last word of a node gone silent: retiring the source now could leave the member
		// with no live Pod.
		st.Message = fmt.Sprintf("%s is Ready, but its node %s shows a failure signal (%s): %s is not retired until the node is healthy",
			replacement.Name, replacement.Spec.NodeName, in.Nodes[replacement.Spec.NodeName].Reason, st.SourcePod)
		setCondition(st, peapodv1alpha1.MigrationComplete, false, ReasonReplacementNodeUnhealthy, st.Message, in.Now)
		return s
	case ready && in.awaitingFencing(source.Spec.NodeName):
		// A graceful delete never reaches a cut-off kubelet: the source would go on running beside the
		// replacement. Once the node is fenced the group's failover force-deletes it, and the migration is done.
		st.Message = fmt.Sprintf("%s is Ready on node %s, but %s is not retired while its node %s is unhealthy (%s) and not fenced: "+
			"it may still run there; %s", replacement.Name, replacement.Spec.NodeName, source.Name, source.Spec.NodeName,
			in.Nodes[source.Spec.NodeName].Reason, fenceHint)
		setCondition(st, peapodv1alpha1.MigrationComplete, false, ReasonAwaitingFencing, st.Message, in.Now)
		return s
	case ready:
		s.Action, s.Pod = RetireSource, source
		return in.finish(s, peapodv1alpha1.MigrationSucceeded, "Migrated", migrated)
	}
	if in.staleAvoidance(replacement) {
		return in.restart(s, replacement, member)
	}
	if why, unschedulable := plan.Unschedulable(replacement); unschedulable {
		if hasTarget(in.Migration) {
			return in.fail(s, replacement, peapodv1alpha1.ReasonUnschedulable,
				fmt.Sprintf("member %s does not fit the target: %s", member, why))
		}
		st.Message = fmt.Sprintf("waiting for room for %s: %s", replacement.Name, why)
		setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, peapodv1alpha1.ReasonWaitingForCapacity, st.Message, in.Now)
		return s
	}
	st.Message = fmt.Sprintf("waiting for %s to be Ready on node %s", replacement.Name, orUnscheduled(replacement.Spec.NodeName))
	setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, "Starting", st.Message, in.Now)
	return s
}

// moveOver ends a drain or an eviction's move whose reason is gone while the member has not moved yet: the drained
// node is schedulable again (uncordoned, the autoscaler's taint gone), or no Eviction hands the source to peapod
// any longer (withdrawn). A replacement waiting for room would otherwise wait for ever, holding the member's budget.
// A replacement already Ready finishes the move instead.
func (in Input) moveOver(s Step, member string, replacement *corev1.Pod) (Step, bool) {
	reason := ReasonOf(in.Migration)
	if reason != peapodv1alpha1.MigrationDrain && reason != peapodv1alpha1.MigrationEviction {
		return s, false
	}
	if replacement != nil {
		if _, ready := plan.ReadySince(replacement); ready {
			return s, false
		}
	}
	source := in.sourceOf(s.Ordinal)
	if s.Status.SourcePod != "" {
		source = in.podNamed(s.Status.SourcePod)
	}
	if source == nil || source.DeletionTimestamp != nil || source.Spec.NodeName == "" {
		// Gone or going: the replacement takes over the member (follow), there is nothing to stay.
		return s, false
	}
	node := source.Spec.NodeName
	if reason == peapodv1alpha1.MigrationEviction {
		if in.Evicting[source.UID] != nil {
			return s, false
		}
		return in.fail(s, replacement, ReasonEvictionWithdrawn, fmt.Sprintf("no Eviction hands %s to peapod any longer (its "+
			"EvictionRequests were withdrawn, or it passed to another responder) before member %s moved: the member stays on node %s",
			source.Name, member, node)), true
	}
	// Only a verdict on the node says it is healthy and not draining; a node not judged says nothing.
	if v, judged := in.Nodes[node]; !judged || v.Unhealthy || v.Draining {
		return s, false
	}
	return in.fail(s, replacement, ReasonDrainCancelled,
		fmt.Sprintf("node %s is schedulable again before member %s moved: the drain is over and the member stays there", node, member)), true
}

// staleAvoidance says a replacement waits, unscheduled, kept off a node that is neither its source's nor failed
// any longer: the list it was created with outlived its cause.
func (in Input) staleAvoidance(replacement *corev1.Pod) bool {
	if !in.AvoidingKnown || !plan.NeedsAvoiding(replacement) {
		return false
	}
	for _, node := range desired.AvoidedNodes(replacement) {
		if (node != in.Migration.Status.SourceNode || !in.keepsOffSource()) && !slices.Contains(in.Avoiding, node) {
			return true
		}
	}
	return false
}

// restart removes a replacement that can never be scheduled as created and takes the migration back to Pending:
// the next step starts it again, kept off the nodes to avoid now. The status goes first (see the controller's
// take), so a manager killed in between finds a Pending migration whose replacement it removes again.
func (in Input) restart(s Step, replacement *corev1.Pod, member string) Step {
	st := &s.Status
	s.Action, s.Pod = RemoveReplacement, replacement
	st.Phase, st.ReplacementPod, st.StartTime = peapodv1alpha1.MigrationPending, "", nil
	st.Message = fmt.Sprintf("restarting the move of member %s: %s waits, unscheduled, kept off nodes %v of which some are healthy again",
		member, replacement.Name, desired.AvoidedNodes(replacement))
	setCondition(st, peapodv1alpha1.MigrationReplacementReady, false, "Restarting", st.Message, in.Now)
	return s
}

// Removal is the delete a RemoveReplacement step asks for. A restart's (the replacement waits, unscheduled, kept off
// a node healthy again) rests on the replacement's state as seen, so it holds only over that version of it: one
// scheduled since is left to the next step. A failed migration's replacement goes whatever its state.
func (s Step) Removal() plan.Deletion {
	restart := s.Status.Phase == peapodv1alpha1.MigrationPending ||
		(s.Status.Phase == peapodv1alpha1.MigrationRunning && s.Status.Mode == peapodv1alpha1.StopThenStart)
	if restart {
		return plan.Deletion{Pod: s.Pod, Reason: plan.ReasonStaleAvoidance}
	}
	return plan.Deletion{Pod: s.Pod, Reason: plan.ReasonMigrationFailed}
}

// StatusFirst says the step's status is written before its Pod write: a step that gives up and removes the
// replacement (a manager killed in between finds a Failed migration with a replacement left, which the next step
// removes), and the stop of a stop-then-start move (from then on the group holds the member's identity for the
// replacement, see Held, and does not recreate the member itself). Every other step writes the Pod first: killed
// in between, the next step reads the same decision from the Pods.
func (s Step) StatusFirst(m *peapodv1alpha1.PodMigration) bool {
	return (s.Action == RemoveReplacement && m.Active()) || s.Action == StopSource
}

// Confirms says the replacement as read now, past any cache, is still what a RetireSource step rests on: live,
// Ready, on the node the step names. The source is a member's Pod: it is deleted only on that fresh evidence.
func Confirms(replacement *corev1.Pod, step Step) bool {
	if replacement == nil || replacement.DeletionTimestamp != nil || replacement.Name != step.Status.ReplacementPod ||
		replacement.Spec.NodeName != step.Status.TargetNode {
		return false
	}
	_, ready := plan.ReadySince(replacement)
	return ready
}

// Abandon is the status of a migration that ends as Failed without a step, e.g. because its group is gone.
func Abandon(m *peapodv1alpha1.PodMigration, reason, message string, now time.Time) peapodv1alpha1.PodMigrationStatus {
	s := Step{Status: *m.Status.DeepCopy()}
	s.Status.Reason = ReasonOf(m)
	return Input{Migration: m, Now: now}.fail(s, nil, reason, message).Status
}

func (in Input) fail(s Step, replacement *corev1.Pod, reason, message string) Step {
	if replacement != nil {
		s.Action, s.Pod = RemoveReplacement, replacement
	}
	return in.finish(s, peapodv1alpha1.MigrationFailed, reason, message)
}

func (in Input) finish(s Step, phase peapodv1alpha1.MigrationPhase, reason, message string) Step {
	st := &s.Status
	st.Phase, st.Message = phase, message
	st.CompletionTime = ptr.To(metav1.NewTime(in.Now))
	if phase == peapodv1alpha1.MigrationFailed {
		setCondition(st, peapodv1alpha1.MigrationFailedCondition, true, reason, message, in.Now)
	} else {
		setCondition(st, peapodv1alpha1.MigrationComplete, true, reason, message, in.Now)
	}
	return s
}

// sourceOf is the live Pod that holds the member's identity now, not counting migration replacements in flight.
func (in Input) sourceOf(ordinal int) *corev1.Pod {
	var candidates []*corev1.Pod
	for _, pod := range in.Pods {
		if o, ok := desired.OrdinalOf(pod.Labels); ok && o == ordinal && pod.DeletionTimestamp == nil {
			candidates = append(candidates, pod)
		}
	}
	members, _ := plan.Members(candidates)
	return members[ordinal]
}

// awaitingFencing says the group requires fencing and the node is unhealthy but not known dead (fenced or deleted).
func (in Input) awaitingFencing(node string) bool {
	v := in.Nodes[node]
	return in.FencingRequired && v.Unhealthy && !v.Replace
}

// failed says the node is judged failed: its members are replaced by the group's failover, and a replacement there
// will never be Ready.
func (in Input) failed(node string) bool {
	v := in.Nodes[node]
	return v.Replace || v.AwaitFencing
}

func (in Input) podNamed(name string) *corev1.Pod {
	for _, pod := range in.Pods {
		if pod.Name == name {
			return pod
		}
	}
	return nil
}

// OrdinalOf resolves spec.member, or spec.pod to the ordinal of that Pod.
func OrdinalOf(m *peapodv1alpha1.PodMigration, pods []*corev1.Pod) (int, bool) {
	if m.Status.Member != nil {
		return int(*m.Status.Member), true
	}
	if m.Spec.Member != nil {
		return int(*m.Spec.Member), true
	}
	for _, pod := range pods {
		if pod.Name == m.Spec.Pod {
			return desired.OrdinalOf(pod.Labels)
		}
	}
	return 0, false
}

// ReasonOf is what started a migration: peapod labels the ones it creates for drains.
func ReasonOf(m *peapodv1alpha1.PodMigration) peapodv1alpha1.MigrationReason {
	if r := m.Labels[peapodv1alpha1.MigrationReasonLabel]; r != "" {
		return peapodv1alpha1.MigrationReason(r)
	}
	return peapodv1alpha1.MigrationRequested
}

func targetNode(m *peapodv1alpha1.PodMigration) string {
	if m.Spec.Target == nil {
		return ""
	}
	return m.Spec.Target.NodeName
}

func hasTarget(m *peapodv1alpha1.PodMigration) bool {
	return m.Spec.Target != nil && (m.Spec.Target.NodeName != "" || len(m.Spec.Target.NodeSelector) > 0)
}

func orUnscheduled(node string) string {
	if node == "" {
		return "(not scheduled yet)"
	}
	return node
}

func setCondition(st *peapodv1alpha1.PodMigrationStatus, typ string, status bool, reason, message string, now time.Time) {
	c := metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(now)}
	if status {
		c.Status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

// SetAside returns the group's Pods without the replacements of the migrations given that are, or may still be,
// in flight: those hold no member's identity for the plan until their migration ends. Only a migration's own
// replacement (ReplacementOf) is set aside: a Pod that carries the migration's name from an earlier migration is
// the member's Pod, and leaving it out would have the plan create a second Pod for the identity.
func SetAside(migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod) []*corev1.Pod {
	aside := map[*corev1.Pod]bool{}
	for _, m := range migrations {
		if !m.Active() || m.Status.Mode == peapodv1alpha1.StopThenStart {
			// A stop-then-start replacement starts once the old Pod is gone: it is the member's only Pod.
			continue
		}
		if replacement := ReplacementOf(m, pods); replacement != nil {
			aside[replacement] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(pods), func(pod *corev1.Pod) bool { return aside[pod] })
}
