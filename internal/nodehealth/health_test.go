package nodehealth

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func lease(renewedAgo time.Duration) *coordinationv1.Lease {
	return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{
		LeaseDurationSeconds: ptr.To[int32](40),
		RenewTime:            &metav1.MicroTime{Time: now.Add(-renewedAgo)},
	}}
}

func node(ready corev1.ConditionStatus, readySince time.Duration, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: ready, LastTransitionTime: metav1.NewTime(now.Add(-readySince)),
		}}},
	}
}

func cordoned(n *corev1.Node) *corev1.Node {
	n.Spec.Unschedulable = true
	return n
}

func taint(key string, ago time.Duration) corev1.Taint {
	return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute, TimeAdded: ptr.To(metav1.NewTime(now.Add(-ago)))}
}

func TestJudge(t *testing.T) {
	const after = 20 * time.Second
	cases := map[string]struct {
		node    *corev1.Node
		lease   *coordinationv1.Lease
		fencing bool
		want    Verdict
	}{
		"healthy: Lease renewed 9 s ago, between renewals": {
			node: node(corev1.ConditionTrue, time.Hour), lease: lease(9 * time.Second), want: Verdict{},
		},
		"silent 16 s: suspect, replaced when `after` has passed since the last renewal": {
			node: node(corev1.ConditionTrue, time.Hour), lease: lease(16 * time.Second),
			want: Verdict{Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-16 * time.Second), RequeueAfter: 4 * time.Second},
		},
		"silent 21 s: replace": {
			node: node(corev1.ConditionTrue, time.Hour), lease: lease(21 * time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-21 * time.Second)},
		},
		"silent 21 s with fencing required: wait for fencing": {
			node: node(corev1.ConditionTrue, time.Hour), lease: lease(21 * time.Second), fencing: true,
			want: Verdict{AwaitFencing: true, Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-21 * time.Second)},
		},
		"NotReady for 30 s with a fresh Lease (kubelet alive, node broken): replace": {
			node: node(corev1.ConditionFalse, 30*time.Second), lease: lease(time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "NotReady", Since: now.Add(-30 * time.Second)},
		},
		"unreachable taint for 25 s": {
			node:  node(corev1.ConditionTrue, time.Hour, taint(corev1.TaintNodeUnreachable, 25*time.Second)),
			lease: lease(time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "Unreachable", Since: now.Add(-25 * time.Second),
				NoExecute: []corev1.Taint{taint(corev1.TaintNodeUnreachable, 25*time.Second)}},
		},
		"out-of-service taint: replace at once, even with fencing required": {
			node:  node(corev1.ConditionUnknown, time.Second, taint(OutOfServiceTaint, 0)),
			lease: lease(2 * time.Second), fencing: true,
			want: Verdict{Replace: true, Unhealthy: true, Reason: "OutOfService", Since: now.Add(-time.Second),
				NoExecute: []corev1.Taint{taint(OutOfServiceTaint, 0)}},
		},
		"Node deleted: replace at once": {
			node: nil, fencing: true, want: Verdict{Replace: true, Unhealthy: true, Reason: "NodeDeleted"},
		},
		"no Lease and Ready: healthy": {node: node(corev1.ConditionTrue, time.Hour), want: Verdict{}},
		"cordoned and healthy: draining": {
			node: cordoned(node(corev1.ConditionTrue, time.Hour)), lease: lease(time.Second), want: Verdict{Draining: true},
		},
		"marked for removal by the cluster autoscaler: draining": {
			node:  node(corev1.ConditionTrue, time.Hour, taint("ToBeDeletedByClusterAutoscaler", time.Second)),
			lease: lease(time.Second), want: Verdict{Draining: true},
		},
		"cordoned and silent: a failure, not a drain": {
			node: cordoned(node(corev1.ConditionTrue, time.Hour)), lease: lease(21 * time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-21 * time.Second)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Judge(tc.node, tc.lease, after, tc.fencing, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Judge() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvictionPending(t *testing.T) {
	const grace = 5 * time.Second
	outOfService := Verdict{Replace: true, NoExecute: []corev1.Taint{taint(OutOfServiceTaint, time.Second)}}
	tolerating := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	cases := map[string]struct {
		verdict Verdict
		pod     *corev1.Pod
		want    bool
	}{
		"a fresh out-of-service taint the Pod does not tolerate: taint eviction deletes it now": {
			verdict: outOfService, pod: &corev1.Pod{}, want: true,
		},
		"a Pod that tolerates every taint is never evicted": {verdict: outOfService, pod: tolerating},
		"a taint older than the grace: taint eviction is not coming": {
			verdict: Verdict{NoExecute: []corev1.Taint{taint(OutOfServiceTaint, time.Minute)}}, pod: &corev1.Pod{},
		},
		"the unreachable taint, tolerated for 300 s as every Pod is by default": {
			verdict: Verdict{NoExecute: []corev1.Taint{taint(corev1.TaintNodeUnreachable, time.Second)}},
			pod: &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeUnreachable,
				Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}}}},
		},
		"no NoExecute taint": {verdict: Verdict{Replace: true}, pod: &corev1.Pod{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.verdict.EvictionPending(tc.pod, grace, now); got != tc.want {
				t.Errorf("EvictionPending() = %v, want %v", got, tc.want)
			}
		})
	}
}
