package nodehealth

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSameForDecisions(t *testing.T) {
	heartbeat := func(n *corev1.Node) {
		n.ResourceVersion = "2"
		n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(now)
	}
	cases := []struct {
		name   string
		change func(*corev1.Node)
		same   bool
	}{
		{"a status heartbeat", heartbeat, true},
		{"nothing", func(*corev1.Node) {}, true},
		{"not Ready", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }, false},
		{"unreachable", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown }, false},
		{"another reason", func(n *corev1.Node) { n.Status.Conditions[0].Reason = "KubeletNotReady" }, false},
		{"no Ready condition", func(n *corev1.Node) { n.Status.Conditions = nil }, false},
		{"cordoned", func(n *corev1.Node) { cordoned(n) }, false},
		{"tainted out of service", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: OutOfServiceTaint, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}}
		}, false},
		{"a taint's time", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute, TimeAdded: &metav1.Time{Time: now.Add(time.Second)}}}
		}, false},
		{"another zone", func(n *corev1.Node) { n.Labels = map[string]string{ZoneLabel: "b"} }, false},
		{"being deleted", func(n *corev1.Node) { n.DeletionTimestamp = &metav1.Time{Time: now} }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := node(corev1.ConditionTrue, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoExecute, TimeAdded: &metav1.Time{Time: now}})
			before.Labels = map[string]string{ZoneLabel: "a"}
			after := before.DeepCopy()
			tc.change(after)
			if got := SameForDecisions(before, after); got != tc.same {
				t.Errorf("SameForDecisions = %v, want %v", got, tc.same)
			}
		})
	}
}
