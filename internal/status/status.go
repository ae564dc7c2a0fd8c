// Package status computes a PodGroup's status from its member Pods: a pure function of what was observed, so
// it is written only when it changes.
package status

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
)

// Condition types. Available, Progressing and Degraded say what a person wants to know; Reconciling and Stalled
// are the kstatus conventions, so kubectl wait, helm --wait, Flux and Argo CD can tell when a group is done.
const (
	ConditionAvailable   = "Available"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Input is what the status is computed from.
type Input struct {
	Group           *peapodv1alpha1.PodGroup
	Pods            []*corev1.Pod
	UpdateRevision  string
	CurrentRevision string
	MaxUnavailable  int
	// Failure is the error that kept this reconcile from its goal, if any; Permanent says retrying cannot help
	// until the spec changes (the API server rejected what the spec asks for).
	Failure   error
	Permanent bool
	// Problems are the other reasons the group is Degraded (members awaiting fencing, failover paused, a child
	// another owner holds, a stuck drain, ...): any order, reported sorted.
	Problems []Problem
	// LastMigration is a member move started or finished in this reconcile, if any.
	LastMigration *peapodv1alpha1.MigrationRecord
	Now           time.Time
}

// Compute returns the group's new status. Conditions keep their lastTransitionTime while their status holds.
func Compute(in Input) peapodv1alpha1.PodGroupStatus {
	g := in.Group
	replicas := desired.Replicas(g)
	out := peapodv1alpha1.PodGroupStatus{
		ObservedGeneration: g.Generation,
		UpdateRevision:     in.UpdateRevision,
		CurrentRevision:    in.CurrentRevision,
		Selector:           labels.SelectorFromSet(desired.SelectorLabels(g.Name)).String(),
		Conditions:         append([]metav1.Condition(nil), g.Status.Conditions...),
	}
	out.LastMigration = lastMigration(g.Status.LastMigration, in.LastMigration)
	members, _ := plan.Members(in.Pods)
	for ordinal, pod := range members {
		if ordinal >= replicas || pod.DeletionTimestamp != nil {
			continue
		}
		completeMigration(out.LastMigration, ordinal, pod)
		out.Replicas++
		if plan.Ready(pod) {
			out.ReadyReplicas++
		}
		if plan.Available(pod, g.Spec.MinReadySeconds, in.Now) {
			out.AvailableReplicas++
		}
		if pod.Labels[peapodv1alpha1.RevisionLabel] == in.UpdateRevision {
			out.UpdatedReplicas++
		}
	}
	if int(out.UpdatedReplicas) == replicas && out.Replicas == int32(replicas) {
		out.CurrentRevision = in.UpdateRevision
	}

	want := int32(replicas)
	// Available as a Deployment means it (all but maxUnavailable), and never with no member available at all.
	minAvailable := max(want-int32(in.MaxUnavailable), min(want, 1))
	done := out.Replicas == want && out.AvailableReplicas == want && out.UpdatedReplicas >= updatedGoal(g, replicas)

	available := cond{ConditionAvailable, out.AvailableReplicas >= minAvailable, "MinimumMembersAvailable",
		fmt.Sprintf("%d of %d members available", out.AvailableReplicas, want)}
	if !available.status {
		available.reason = "MembersUnavailable"
	}
	progressing := cond{ConditionProgressing, !done, "MembersChanging",
		fmt.Sprintf("%d of %d members available, %d updated", out.AvailableReplicas, want, out.UpdatedReplicas)}
	if done {
		progressing.reason, progressing.message = "AllMembersAvailable", fmt.Sprintf("all %d members available and up to date", want)
	}
	problems := slices.Clone(in.Problems)
	if waiting := waitingForCapacity(g.Name, members, replicas); waiting != "" {
		problems = append(problems, Problem{Reason: ReasonWaitingForCapacity, Message: waiting})
	}
	if in.Failure != nil {
		reason := ReasonReconcileError
		if in.Permanent {
			reason = ReasonInvalidMember
		}
		problems = append(problems, Problem{Reason: reason, Message: in.Failure.Error()})
	}
	degraded := degradedCondition(problems)

	for _, c := range []cond{available, progressing, degraded} {
		set(&out.Conditions, c, g.Generation, in.Now)
	}
	// kstatus reads Reconciling and Stalled as "abnormal-true": present only while they hold.
	reconciling := cond{ConditionReconciling, !done && !in.Permanent, progressing.reason, progressing.message}
	setOrRemove(&out.Conditions, reconciling, g.Generation, in.Now)
	stalled := cond{ConditionStalled, in.Permanent, degraded.reason, degraded.message}
	setOrRemove(&out.Conditions, stalled, g.Generation, in.Now)
	return out
}

// waitingForCapacity says which members the scheduler finds no node for, and why (its message for the first).
func waitingForCapacity(group string, members map[int]*corev1.Pod, replicas int) string {
	var names []string
	var why string
	for ordinal := range replicas {
		pod := members[ordinal]
		if pod == nil || pod.DeletionTimestamp != nil {
			continue
		}
		if message, unschedulable := plan.Unschedulable(pod); unschedulable {
			names = append(names, pod.Name)
			if why == "" {
				why = message
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("members %s wait for a node with room: %s", MemberNames(group, names, MaxList), why)
}

func lastMigration(before, now *peapodv1alpha1.MigrationRecord) *peapodv1alpha1.MigrationRecord {
	if now != nil {
		return now.DeepCopy()
	}
	return before.DeepCopy()
}

// completeMigration notes, on the record of a failover, when and where the member was Ready again: a Pod of that
// member created since the failover started, Ready on another node.
func completeMigration(r *peapodv1alpha1.MigrationRecord, ordinal int, pod *corev1.Pod) {
	if r == nil || r.ReadyTime != nil || int(r.Member) != ordinal || pod.Spec.NodeName == r.From ||
		pod.CreationTimestamp.Before(&r.StartTime) {
		return
	}
	if since, ready := plan.ReadySince(pod); ready {
		r.To, r.ReadyTime = pod.Spec.NodeName, ptr.To(metav1.NewTime(since))
	}
}

// updatedGoal is how many members a finished rollout has at the update revision: all, less those a partition
// holds back.
func updatedGoal(g *peapodv1alpha1.PodGroup, replicas int) int32 {
	if s := g.Spec.UpdateStrategy; s != nil && s.Type == peapodv1alpha1.OnDeleteStrategy {
		return 0
	}
	partition := 0
	if s := g.Spec.UpdateStrategy; s != nil && s.RollingUpdate != nil && s.RollingUpdate.Partition != nil {
		partition = int(*s.RollingUpdate.Partition)
	}
	return int32(max(replicas-partition, 0))
}

type cond struct {
	typ     string
	status  bool
	reason  string
	message string
}

func set(conds *[]metav1.Condition, c cond, generation int64, now time.Time) {
	status := metav1.ConditionFalse
	if c.status {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: c.typ, Status: status, Reason: c.reason, Message: c.message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
}

func setOrRemove(conds *[]metav1.Condition, c cond, generation int64, now time.Time) {
	if !c.status {
		meta.RemoveStatusCondition(conds, c.typ)
		return
	}
	set(conds, c, generation, now)
}
