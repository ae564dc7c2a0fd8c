// Package nodehealth decides, from a Node and its Lease, whether the members on that node must be replaced and
// when: pure functions of the observed objects and the time.
package nodehealth

import (
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
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
	// NoExecute are the node's NoExecute taints: Kubernetes' taint eviction deletes, by name, the Pods that do
	// not tolerate them.
	NoExecute []corev1.Taint
}

// drainTaints mark a node an autoscaler is about to remove; like a cordon, they say its Pods must leave.
var drainTaints = []string{"ToBeDeletedByClusterAutoscaler", "karpenter.sh/disrupted", "karpenter.sh/disruption"}

// OutOfServiceTaint is the taint an administrator (or a fencing agent) puts on a node known to be powered off.
const OutOfServiceTaint = "node.kubernetes.io/out-of-service"

// Judge decides about a node. node is nil when the Node object is gone; lease is nil when the node has none.
func Judge(node *corev1.Node, lease *coordinationv1.Lease, after time.Duration, fencingRequired bool, now time.Time) Verdict {
	if node == nil {
		return Verdict{Replace: true, Unhealthy: true, Reason: "NodeDeleted", Since: leaseSilentSince(lease, now)}
	}
	since, reason, ok := failingSince(node, lease, now)
	if fenced(node) {
		return Verdict{Replace: true, Unhealthy: true, Reason: "OutOfService", Since: since, NoExecute: noExecute(node)}
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

// failingSince is the earliest moment from which a failure signal has held: the last Lease renewal (or, with no
// Lease, the last heartbeat in the Ready condition), Ready False/Unknown, or the not-ready/unreachable taint.
func failingSince(node *corev1.Node, lease *coordinationv1.Lease, now time.Time) (time.Time, string, bool) {
	var since time.Time
	var reason string
	consider := func(t time.Time, why string) {
		if !t.IsZero() && (since.IsZero() || t.Before(since)) {
			since, reason = t, why
		}
	}
	ready := readyCondition(node)
	if lease != nil && lease.Spec.RenewTime != nil && Silent(lease, now) {
		consider(lease.Spec.RenewTime.Time, "LeaseExpired")
	}
	if ready != nil && ready.Status != corev1.ConditionTrue {
		consider(ready.LastTransitionTime.Time, "NotReady")
	}
	for _, t := range node.Spec.Taints {
		if (t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady) && t.TimeAdded != nil {
			why := "NotReady"
			if t.Key == corev1.TaintNodeUnreachable {
				why = "Unreachable"
			}
			consider(t.TimeAdded.Time, why)
		}
	}
	return since, reason, !since.IsZero()
}

// Silent says a node has missed its Lease renewals: it renews every quarter of the Lease duration (10 s of 40 s
// by default), so one and a half intervals without a renewal is more than jitter.
func Silent(lease *coordinationv1.Lease, now time.Time) bool {
	if lease.Spec.RenewTime == nil {
		return false
	}
	duration := 40 * time.Second
	if lease.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	return now.Sub(lease.Spec.RenewTime.Time) > duration/4*3/2
}

func leaseSilentSince(lease *coordinationv1.Lease, now time.Time) time.Time {
	if lease != nil && lease.Spec.RenewTime != nil && Silent(lease, now) {
		return lease.Spec.RenewTime.Time
	}
	return time.Time{}
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
