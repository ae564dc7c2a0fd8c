// Package plan decides, from the member Pods that exist, what a PodGroup reconcile does next: which ordinals to
// create at which revision and which Pods to delete (scale-down, failed members, rolling update). Pure: it takes
// the time as an argument and returns when to look again.
package plan

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

// Input is what the plan is made from.
type Input struct {
	Replicas        int
	UpdateRevision  string
	CurrentRevision string
	Strategy        peapodv1alpha1.UpdateStrategyType
	MaxUnavailable  int
	Partition       int
	MinReadySeconds int32
	// Pods are the group's member Pods, as the cache sees them.
	Pods []*corev1.Pod
	// Nodes are the verdicts on the nodes the members run on.
	Nodes map[string]nodehealth.Verdict
	// MaxMigrations caps the members of this group being moved off failed nodes at once; 0 means no cap.
	MaxMigrations int
	// Avoiding lists the failed nodes new members keep off now; with AvoidingKnown unset it was not looked up
	// (no member needed it).
	Avoiding      []string
	AvoidingKnown bool
	// EvictionNoticed is when the controller first saw each member it leaves to Kubernetes' taint eviction (see
	// Plan.AwaitingEviction): a taint a user added has no time of its own.
	EvictionNoticed map[types.UID]EvictionNotice
	// Held are members a stop-then-start migration moves (migration.Held): it creates their Pod, the plan does not.
	Held map[int]bool
	// MaxSurge is how many available members a rolling update moves make-before-break at once (0: it deletes
	// them); Migrating are the members some active migration moves, and why (migration.Moving).
	MaxSurge  int
	Migrating map[int]peapodv1alpha1.MigrationReason
	Now       time.Time
}

// evictionGrace is how long a member on a node with a NoExecute taint it does not tolerate is left to Kubernetes'
// taint eviction, which deletes it within milliseconds when it runs, before peapod replaces it anyway.
const evictionGrace = 5 * time.Second

// DeleteReason says why a Pod is deleted.
type DeleteReason string

const (
	ReasonScaleDown DeleteReason = "ScaleDown"
	ReasonFailed    DeleteReason = "MemberFailed"
	ReasonUpdate    DeleteReason = "RollingUpdate"
	ReasonStray     DeleteReason = "StrayPod"
	// ReasonDuplicate deletes the second live Pod of one identity: a migration's replacement left behind when
	// the migration was cancelled or failed.
	ReasonDuplicate DeleteReason = "DuplicateMember"
	// ReasonMigrated retires a member's old Pod once its migration's replacement is Ready.
	ReasonMigrated DeleteReason = "Migrated"
	// ReasonStalePlacement deletes a member that never got a node because a migration that ended placed it.
	ReasonStalePlacement DeleteReason = "StalePlacement"
	// ReasonStopThenStart stops a member's old Pod so it can start elsewhere with claims one node may mount.
	ReasonStopThenStart DeleteReason = "StopThenStart"
	// ReasonMigrationFailed removes the replacement of a migration that failed.
	ReasonMigrationFailed DeleteReason = "MigrationFailed"
	// ReasonNodeFailed force-deletes a member whose node failed, so it can be recreated elsewhere.
	ReasonNodeFailed DeleteReason = "NodeFailed"
	// ReasonStaleAvoidance deletes a member that never got a node because its node affinity keeps it off nodes
	// that are healthy again: recreated, it may use them.
	ReasonStaleAvoidance DeleteReason = "StaleAvoidance"
)

// Deletion is a Pod to delete and why. Force deletions skip the grace period: the kubelet that would honour it
// is gone.
type Deletion struct {
	Pod    *corev1.Pod
	Reason DeleteReason
	Force  bool
}

// OnlyAsSeen says the reason rests on the Pod's state as the plan saw it (unscheduled, finished, not available,
// the second copy): the delete must hold only over that version of it (its resourceVersion as a precondition). A
// cache that lags past the expectations' timeout may show a Pod unscheduled that is Ready by now. The other
// reasons hold whatever the Pod's state: its ordinal, its node's failure (re-read live first), a migration's step.
func (d Deletion) OnlyAsSeen() bool {
	switch d.Reason {
	case ReasonStaleAvoidance, ReasonStalePlacement, ReasonFailed, ReasonUpdate, ReasonDuplicate, ReasonStopThenStart:
		return true
	}
	return false
}

// Creation is a member to create at a revision.
type Creation struct {
	Ordinal  int
	Revision string
}

// Plan is the next step.
type Plan struct {
	Create []Creation
	Delete []Deletion
	// AwaitingFencing lists the members on failed nodes that wait for the node to be fenced.
	AwaitingFencing []*corev1.Pod
	// AwaitingEviction lists the members on failed nodes left for a moment to Kubernetes' taint eviction, which
	// deletes by name: replaced first, the replacement is what it would delete.
	AwaitingEviction []*corev1.Pod
	// Capped lists the members on failed nodes that the group's maxConcurrentMigrations holds back for now.
	Capped []*corev1.Pod
	// Surge lists the outdated members a rolling update moves make-before-break now: a PodMigration with reason
	// Update each.
	Surge []*corev1.Pod
	// RequeueAfter is when something changes without any event (a member reaching minReadySeconds, a node's
	// failure lasting long enough).
	RequeueAfter time.Duration
}

// Make plans the next step. Members are created whenever their ordinal has no Pod (a terminating Pod still holds
// its identity: the replacement waits until it is gone, so an identity never has two Pods). Pods of migrations
// in flight are not in the input: internal/migration handles them.
func Make(in Input) Plan {
	var p Plan
	byOrdinal, extra := Members(in.Pods)
	for _, pod := range extra {
		reason := ReasonDuplicate
		if _, ok := desired.OrdinalOf(pod.Labels); !ok {
			reason = ReasonStray
		}
		p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: reason})
	}
	for _, pod := range in.Pods {
		// A terminating Pod that no longer holds its identity, on a dead node: nothing else will finish it.
		ordinal, _ := desired.OrdinalOf(pod.Labels)
		if pod.DeletionTimestamp != nil && byOrdinal[ordinal] != pod && pod.Spec.NodeName != "" && in.Nodes[pod.Spec.NodeName].Replace {
			p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: ReasonNodeFailed, Force: true})
		}
	}

	var failed []*corev1.Pod
	for ordinal, pod := range byOrdinal {
		verdict := in.Nodes[pod.Spec.NodeName]
		if pod.Spec.NodeName != "" && verdict.Replace {
			if in.awaitEviction(pod, verdict) {
				// Let Kubernetes' taint eviction delete it first; its delete wakes us up.
				p.AwaitingEviction = append(p.AwaitingEviction, pod)
				continue
			}
			// Also a Pod already terminating: on a dead node it never finishes by itself.
			if ordinal < in.Replicas {
				failed = append(failed, pod)
			} else {
				p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: ReasonNodeFailed, Force: true})
			}
			continue
		}
		if verdict.AwaitFencing {
			p.AwaitingFencing = append(p.AwaitingFencing, pod)
		}
		if pod.DeletionTimestamp != nil {
			continue
		}
		switch {
		case ordinal >= in.Replicas:
			p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: ReasonScaleDown})
		case Finished(pod):
			p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: ReasonFailed})
		case in.Held[ordinal]:
			// A stop-then-start replacement, kept off its source's node or sent to a target on purpose: its
			// migration restarts it when it cannot be scheduled.
		case in.staleAvoidance(pod):
			p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: ReasonStaleAvoidance})
		case strandedReplacement(pod):
			p.Delete = append(p.Delete, Deletion{Pod: pod, Reason: ReasonStalePlacement})
		}
	}
	replace, capped := in.migrations(byOrdinal, failed)
	p.Delete, p.Capped = append(p.Delete, replace...), capped
	for ordinal := range in.Replicas {
		if _, exists := byOrdinal[ordinal]; !exists && !in.Held[ordinal] {
			p.Create = append(p.Create, Creation{Ordinal: ordinal, Revision: in.RevisionFor(ordinal)})
		}
	}
	updates, surge := in.rollingUpdate(byOrdinal, p.Delete)
	p.Delete, p.Surge = append(p.Delete, updates...), surge
	p.RequeueAfter = in.nextAvailabilityChange(byOrdinal)
	soonest := func(d time.Duration) {
		if d > 0 && (p.RequeueAfter == 0 || d < p.RequeueAfter) {
			p.RequeueAfter = d
		}
	}
	for _, v := range in.Nodes {
		soonest(v.RequeueAfter)
	}
	if len(p.AwaitingEviction) > 0 {
		soonest(evictionGrace)
	}
	slices.SortFunc(p.AwaitingFencing, compareOrdinalsDesc)
	slices.SortFunc(p.Delete, func(a, b Deletion) int { return compareOrdinalsDesc(a.Pod, b.Pod) })
	return p
}

// migrations picks the members on failed nodes to replace now: all of them, or with MaxMigrations as many as
// the cap leaves after the replacements still in flight (members with no Pod, or with a Pod created less than
// StuckAfter ago that is not Ready yet, not on a failed node themselves). A member whose Pod never becomes Ready
// (crash-looping, unschedulable) stops counting after StuckAfter, so it cannot hold the group's failovers for
// ever. capped lists the members held back.
func (in Input) migrations(byOrdinal map[int]*corev1.Pod, failed []*corev1.Pod) (replace []Deletion, capped []*corev1.Pod) {
	slices.SortFunc(failed, compareOrdinalsDesc)
	budget := len(failed)
	if in.MaxMigrations > 0 {
		onFailed := map[string]bool{}
		for _, pod := range failed {
			onFailed[pod.Name] = true
		}
		inFlight := 0
		for ordinal := range in.Replicas {
			pod := byOrdinal[ordinal]
			if pod == nil || (!onFailed[pod.Name] && !Ready(pod) && in.Now.Sub(pod.CreationTimestamp.Time) < StuckAfter) {
				inFlight++
			}
		}
		budget = min(budget, max(in.MaxMigrations-inFlight, 0))
	}
	replace = make([]Deletion, 0, budget)
	for _, pod := range failed[:budget] {
		replace = append(replace, Deletion{Pod: pod, Reason: ReasonNodeFailed, Force: true})
	}
	return replace, failed[budget:]
}

// StuckAfter is how long a replacement that is not Ready counts as a failover in flight against a cap.
const StuckAfter = 10 * time.Minute

// NeedsAvoiding says a Pod is one whose avoid list may have outlived its cause: unscheduled for want of a node,
// and kept off some.
func NeedsAvoiding(pod *corev1.Pod) bool {
	_, unschedulable := Unschedulable(pod)
	return pod.Spec.NodeName == "" && unschedulable && len(desired.AvoidedNodes(pod)) > 0
}

// strandedReplacement says a member's Pod is a stop-then-start replacement whose migration ended (cancelled, or
// failed without removing it) before it was scheduled: it may still be bound to the migration's target or kept
// off its source's node, and nothing else lifts that. Recreated, it goes where the member fits. A make-before-break
// replacement becomes the member only once it runs, so it is never stranded.
func strandedReplacement(pod *corev1.Pod) bool {
	_, unschedulable := Unschedulable(pod)
	return unschedulable && pod.Spec.NodeName == "" && pod.Labels[peapodv1alpha1.MigrationLabel] != ""
}

// staleAvoidance says an unscheduled member is kept off a node that is no longer failed.
func (in Input) staleAvoidance(pod *corev1.Pod) bool {
	if !in.AvoidingKnown || !NeedsAvoiding(pod) {
		return false
	}
	for _, node := range desired.AvoidedNodes(pod) {
		if !slices.Contains(in.Avoiding, node) {
			return true
		}
	}
	return false
}

// EvictionNotice is when the controller first left a member to Kubernetes' taint eviction, and whether the Pod
// was live then.
type EvictionNotice struct {
	At        time.Time
	WhileLive bool
}

// awaitEviction says a member on a failed node is left, for at most evictionGrace, to Kubernetes' taint
// eviction, which deletes by name and would otherwise delete the replacement created under that name. A Pod
// already terminating is not spared it: the eviction deletes it again when a new NoExecute taint arrives (a Pod
// evicted at the unreachable taint, then fenced). Only a Pod seen live and terminating since has had its eviction.
func (in Input) awaitEviction(pod *corev1.Pod, verdict nodehealth.Verdict) bool {
	if !verdict.EvictionPending(pod, evictionGrace, in.Now) {
		return false
	}
	notice, seen := in.EvictionNoticed[pod.UID]
	switch {
	case !seen:
		return true
	case notice.WhileLive && pod.DeletionTimestamp != nil:
		return false
	}
	return in.Now.Before(notice.At.Add(evictionGrace))
}

// RevisionFor is the revision a member created now gets: the current one below the partition, else the update.
func (in Input) RevisionFor(ordinal int) string {
	if in.Strategy != peapodv1alpha1.OnDeleteStrategy && ordinal < in.Partition && in.CurrentRevision != "" {
		return in.CurrentRevision
	}
	return in.UpdateRevision
}

// rollingUpdate picks outdated members to replace, highest ordinal first, keeping at most MaxUnavailable members
// unavailable. Replacing a member that is unavailable anyway costs nothing from that budget. With MaxSurge, an
// available outdated member is not deleted but updated make-before-break (surge): at most MaxSurge such moves at
// once, none of a member another migration moves.
func (in Input) rollingUpdate(byOrdinal map[int]*corev1.Pod, already []Deletion) (updates []Deletion, surge []*corev1.Pod) {
	if in.Strategy == peapodv1alpha1.OnDeleteStrategy {
		return nil, nil
	}
	deleting := map[string]bool{}
	for _, d := range already {
		deleting[d.Pod.Name] = true
	}
	unavailable := 0
	for ordinal := range in.Replicas {
		pod := byOrdinal[ordinal]
		if pod == nil || pod.DeletionTimestamp != nil || deleting[pod.Name] || !Available(pod, in.MinReadySeconds, in.Now) {
			unavailable++
		}
	}
	budget := in.MaxUnavailable - unavailable
	surgeBudget := in.MaxSurge
	for _, reason := range in.Migrating {
		if reason == peapodv1alpha1.MigrationUpdate {
			surgeBudget--
		}
	}
	for ordinal := in.Replicas - 1; ordinal >= in.Partition; ordinal-- {
		pod := byOrdinal[ordinal]
		if pod == nil || pod.DeletionTimestamp != nil || deleting[pod.Name] || pod.Labels[peapodv1alpha1.RevisionLabel] == in.UpdateRevision {
			continue
		}
		available := Available(pod, in.MinReadySeconds, in.Now)
		if _, moving := in.Migrating[ordinal]; in.MaxSurge > 0 && available {
			if !moving && surgeBudget > 0 {
				surgeBudget--
				surge = append(surge, pod)
			}
			continue
		}
		if available {
			if budget <= 0 {
				continue
			}
			budget--
		}
		updates = append(updates, Deletion{Pod: pod, Reason: ReasonUpdate})
	}
	return updates, surge
}

func (in Input) nextAvailabilityChange(byOrdinal map[int]*corev1.Pod) time.Duration {
	if in.MinReadySeconds == 0 {
		return 0
	}
	var next time.Duration
	for _, pod := range byOrdinal {
		since, ready := ReadySince(pod)
		if !ready {
			continue
		}
		remaining := since.Add(time.Duration(in.MinReadySeconds) * time.Second).Sub(in.Now)
		if remaining > 0 && (next == 0 || remaining < next) {
			next = remaining
		}
	}
	return next
}

// ResolveMaxUnavailable turns maxUnavailable (a number or a percentage of replicas, rounded down) into a count
// of at least 1.
func ResolveMaxUnavailable(v *intstr.IntOrString, replicas int) int {
	if v == nil {
		return 1
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, replicas, false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// ResolveMaxSurge turns maxSurge (a number or a percentage of replicas, rounded up) into a count; 0 when unset.
func ResolveMaxSurge(v *intstr.IntOrString, replicas int) int {
	if v == nil {
		return 0
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, replicas, true)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func compareOrdinalsDesc(a, b *corev1.Pod) int {
	oa, _ := desired.OrdinalOf(a.Labels)
	ob, _ := desired.OrdinalOf(b.Labels)
	return ob - oa
}
