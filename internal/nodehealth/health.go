// Package nodehealth decides, from a Node and its Lease, whether the members on that node must be replaced and
// when: pure functions of the observed objects and the time.
package nodehealth

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// Verdict is what to do about the members on one node.
type Verdict struct {
	// Replace says the node's members must be replaced now.
	Replace bool
	// AwaitFencing says the node is unhealthy but not known dead, and the group requires fencing.
	AwaitFencing bool
	// Unhealthy says the node shows a failure signal (a stale Lease counts once it is older than `after`).
	Unhealthy bool
	// Reason names the signal: LeaseExpired, NotReady, Unreachable, OutOfService, NodeDeleted.
	Reason string
	// Since is when the failure began, as far as the signals tell (zero for a deleted or fenced node whose other
	// signals are gone).
	Since time.Time
	// RequeueAfter is when the verdict changes by itself if nothing else happens.
	RequeueAfter time.Duration
	// Draining says the node is healthy but being emptied: cordoned, or marked for removal by an autoscaler.
	Draining bool
	// Paused says why replacing the node's members is held back although its silence says they should be:
	// too much of the cluster looks unhealthy at once (see Disruption).
	Paused string
	// Window is the observer's window the verdict was judged in (Observer.Window): one that began again since
	// means the evidence it rests on is no longer what counts.
	Window time.Time
	// NoExecute are the node's NoExecute taints: Kubernetes' taint eviction deletes, by name, the Pods that do
	// not tolerate them.
	NoExecute []corev1.Taint
}

// drainTaints mark a node an autoscaler is about to remove; like a cordon, they say its Pods must leave.
var drainTaints = []string{"ToBeDeletedByClusterAutoscaler", "karpenter.sh/disrupted", "karpenter.sh/disruption"}

// OutOfServiceTaint is the taint an administrator (or a fencing agent) puts on a node known to be powered off.
const OutOfServiceTaint = "node.kubernetes.io/out-of-service"

// Judge decides about a node from what the manager observed of it. node is nil when a live read said the Node
// is gone. A blind observer judges nobody failed but fenced and deleted nodes: their fate was declared, not
// inferred from silence.
func Judge(node *corev1.Node, ev Evidence, after time.Duration, fencingRequired bool, now time.Time) Verdict {
	if node == nil {
		return Verdict{Replace: true, Unhealthy: true, Reason: ReasonNodeDeleted, Since: ev.HeardAt}
	}
	since, reason, ok := failingSince(node, ev, now)
	if fenced(node) {
		return Verdict{Replace: true, Unhealthy: true, Reason: ReasonOutOfService, Since: since, NoExecute: noExecute(node)}
	}
	if !ok {
		return Verdict{Draining: draining(node)}
	}
	replaceAt := since.Add(after)
	if now.Before(replaceAt) {
		return Verdict{Unhealthy: true, Reason: reason, Since: since, RequeueAfter: replaceAt.Sub(now)}
	}
	if fencingRequired {
		return Verdict{AwaitFencing: true, Unhealthy: true, Reason: reason, Since: since}
	}
	return Verdict{Replace: true, Unhealthy: true, Reason: reason, Since: since, NoExecute: noExecute(node)}
}

// Reasons a node is judged failed.
const (
	ReasonLeaseExpired = "LeaseExpired"
	ReasonNotReady     = "NotReady"
	ReasonUnreachable  = "Unreachable"
	ReasonOutOfService = "OutOfService"
	ReasonNodeDeleted  = "NodeDeleted"
)

// Declared says the verdict rests on what an administrator or a fencing agent declared (an out-of-service taint,
// a deleted Node), not on silence the manager inferred.
func (v Verdict) Declared() bool {
	return v.Reason == ReasonOutOfService || v.Reason == ReasonNodeDeleted
}

// EvictionPending says Kubernetes' taint eviction is about to delete the Pod: the node has a NoExecute taint the
// Pod does not tolerate at all, added less than grace ago (a taint without a time, as `kubectl taint` adds them,
// counts as new: the caller bounds the wait). Replacing the member before that delete lands would have it delete
// the replacement: it deletes by name, not by UID.
func (v Verdict) EvictionPending(pod *corev1.Pod, grace time.Duration, now time.Time) bool {
	for i := range v.NoExecute {
		taint := &v.NoExecute[i]
		if taint.TimeAdded != nil && now.Sub(taint.TimeAdded.Time) >= grace {
			continue
		}
		tolerated := false
		for j := range pod.Spec.Tolerations {
			if pod.Spec.Tolerations[j].ToleratesTaint(klog.Background(), taint, false) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return true
		}
	}
	return false
}

func noExecute(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// failingSince is the earliest moment, as the manager observed it, from which a failure signal has held: the
// last Lease renewal it saw, or the first time it saw the Node not Ready (the controller-manager's verdict).
func failingSince(node *corev1.Node, ev Evidence, now time.Time) (time.Time, string, bool) {
	if ev.Blind {
		return time.Time{}, "", false
	}
	var since time.Time
	var reason string
	if ev.Silent(now) {
		since, reason = ev.HeardAt, ReasonLeaseExpired
	}
	if ready := readyCondition(node); ready != nil && ready.Status != corev1.ConditionTrue && !ev.NotReadySince.IsZero() &&
		(since.IsZero() || ev.NotReadySince.Before(since)) {
		since, reason = ev.NotReadySince, ReasonNotReady
		if ready.Status == corev1.ConditionUnknown {
			reason = ReasonUnreachable
		}
	}
	return since, reason, !since.IsZero()
}

func fenced(node *corev1.Node) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == OutOfServiceTaint {
			return true
		}
	}
	return false
}

func draining(node *corev1.Node) bool {
	if node.Spec.Unschedulable {
		return true
	}
	for _, t := range node.Spec.Taints {
		if slices.Contains(drainTaints, t.Key) {
			return true
		}
	}
	return false
}

func readyCondition(node *corev1.Node) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}
