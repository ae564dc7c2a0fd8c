package controllers

import (
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func defaultTolerations() []corev1.Toleration {
	return []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
	}
}

// Cached Pods with equal tolerations and owners share one array of each; different ones do not, and each keeps
// its own values.
func TestCachedMembersShareEqualSlices(t *testing.T) {
	g := pt.MakePodGroup("web", "default").UID("uid-web").Obj()
	other := pt.MakePodGroup("db", "default").UID("uid-db").Obj()
	member := func(group string, owner *corev1.Pod, tolerations []corev1.Toleration) *corev1.Pod {
		pod := pt.MakeMemberPod(group, 0, "r").Obj()
		pod.OwnerReferences, pod.Spec.Tolerations = owner.OwnerReferences, tolerations
		slim, err := slimPod(pod)
		if err != nil {
			t.Fatal(err)
		}
		return slim.(*corev1.Pod)
	}
	web := &corev1.Pod{}
	web.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(g)}
	db := &corev1.Pod{}
	db.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(other)}
	longer := append(defaultTolerations(), corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists})

	a, b := member("web", web, defaultTolerations()), member("web", web, defaultTolerations())
	c := member("db", db, longer)
	if &a.Spec.Tolerations[0] != &b.Spec.Tolerations[0] || &a.OwnerReferences[0] != &b.OwnerReferences[0] {
		t.Error("two members with equal tolerations and owner hold two copies")
	}
	if &a.Spec.Tolerations[0] == &c.Spec.Tolerations[0] || &a.OwnerReferences[0] == &c.OwnerReferences[0] {
		t.Error("members with different tolerations or owners share them")
	}
	if len(c.Spec.Tolerations) != 3 || c.Spec.Tolerations[2].Key != "gpu" || c.OwnerReferences[0].Name != "db" {
		t.Errorf("the other member holds %v and %v", c.Spec.Tolerations, c.OwnerReferences)
	}
}

// Once no cached object holds a canonical slice it is collected, and an equal slice cached later is canonical in
// its place.
func TestASharedSliceGoesWithItsLastHolder(t *testing.T) {
	var table sliceTable[corev1.Toleration]
	_ = table.canonical("k", defaultTolerations()) // held by nothing once returned
	runtime.GC()
	second := defaultTolerations()
	if got := table.canonical("k", second); &got[0] != &second[0] {
		t.Error("an equal slice cached after the first was collected is not canonical")
	}
	if got := table.canonical("k", defaultTolerations()); &got[0] != &second[0] {
		t.Error("the canonical slice is not returned for an equal one")
	}
}
