package nodehealth

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// heard is what the observer knows of a node last heard from ago (and, when notReadyAgo > 0, seen not Ready
// since then).
func heard(ago time.Duration, notReadyAgo ...time.Duration) Evidence {
	ev := Evidence{HasLease: true, HeardAt: now.Add(-ago), LeaseDuration: 40 * time.Second}
	if len(notReadyAgo) > 0 {
		ev.NotReadySince = now.Add(-notReadyAgo[0])
	}
	return ev
}

func blind(ev Evidence) Evidence {
	ev.Blind = true
	return ev
}

func node(ready corev1.ConditionStatus, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		Spec:   corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}},
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
		node     *corev1.Node
		evidence Evidence
		fencing  bool
		want     Verdict
	}{
		"healthy: heard 9 s ago, between renewals": {
			node: node(corev1.ConditionTrue), evidence: heard(9 * time.Second), want: Verdict{},
		},
		"silent 16 s: suspect, replaced when `after` has passed since it was last heard": {
			node: node(corev1.ConditionTrue), evidence: heard(16 * time.Second),
			want: Verdict{Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-16 * time.Second), RequeueAfter: 4 * time.Second},
		},
		"silent 21 s: replace": {
			node: node(corev1.ConditionTrue), evidence: heard(21 * time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-21 * time.Second)},
		},
		"silent 21 s but the observer is blind: nothing is inferred": {
			node: node(corev1.ConditionTrue), evidence: blind(heard(21 * time.Second)), want: Verdict{},
		},
		"silent 21 s with fencing required: wait for fencing": {
			node: node(corev1.ConditionTrue), evidence: heard(21 * time.Second), fencing: true,
			want: Verdict{AwaitFencing: true, Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-21 * time.Second)},
		},
		"seen NotReady for 30 s with a fresh Lease (kubelet alive, node broken): replace": {
			node: node(corev1.ConditionFalse), evidence: heard(time.Second, 30*time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "NotReady", Since: now.Add(-30 * time.Second)},
		},
		"seen Unknown for 25 s": {
			node:     node(corev1.ConditionUnknown, taint(corev1.TaintNodeUnreachable, 25*time.Second)),
			evidence: heard(time.Second, 25*time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "Unreachable", Since: now.Add(-25 * time.Second),
				NoExecute: []corev1.Taint{taint(corev1.TaintNodeUnreachable, 25*time.Second)}},
		},
		"out-of-service taint: replace at once, even with fencing required and a blind observer": {
			node:     node(corev1.ConditionUnknown, taint(OutOfServiceTaint, 0)),
			evidence: blind(heard(2 * time.Second)), fencing: true,
			want: Verdict{Replace: true, Unhealthy: true, Reason: "OutOfService", NoExecute: []corev1.Taint{taint(OutOfServiceTaint, 0)}},
		},
		"Node deleted (a live read said so): replace at once": {
			node: nil, evidence: heard(3 * time.Second), fencing: true,
			want: Verdict{Replace: true, Unhealthy: true, Reason: "NodeDeleted", Since: now.Add(-3 * time.Second)},
		},
		"no Lease and Ready: healthy": {node: node(corev1.ConditionTrue), evidence: Evidence{HeardAt: now.Add(-time.Hour)}, want: Verdict{}},
		"cordoned and healthy: draining": {
			node: cordoned(node(corev1.ConditionTrue)), evidence: heard(time.Second), want: Verdict{Draining: true},
		},
		"marked for removal by the cluster autoscaler: draining": {
			node:     node(corev1.ConditionTrue, taint("ToBeDeletedByClusterAutoscaler", time.Second)),
			evidence: heard(time.Second), want: Verdict{Draining: true},
		},
		"cordoned and silent: a failure, not a drain": {
			node: cordoned(node(corev1.ConditionTrue)), evidence: heard(21 * time.Second),
			want: Verdict{Replace: true, Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-21 * time.Second)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Judge(tc.node, tc.evidence, after, tc.fencing, now)
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
