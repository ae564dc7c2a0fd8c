package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/expectations"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// A member's progress on its node only refreshes the status and waits behind the work that creates or moves
// members; whatever can change what is done with the member does not.
func TestMemberUpdatePriority(t *testing.T) {
	now := time.Now()
	pending := func() *pt.PodWrapper { return pt.MakeMemberPod("web", 0, "r") }
	bound := func() *pt.PodWrapper {
		w := pending()
		w.Spec.NodeName = "node-1"
		return w
	}
	cases := []struct {
		name     string
		old, pod *corev1.Pod
		want     int
	}{
		{"bound to a node", pending().Obj(), bound().Obj(), 0},
		{"Running", bound().Obj(), bound().Phase(corev1.PodRunning).Obj(), priorityStatusOnly},
		{"Ready", bound().Phase(corev1.PodRunning).Obj(), bound().Phase(corev1.PodRunning).Ready(now).Obj(), priorityStatusOnly},
		{"not Ready any more", bound().Ready(now).Obj(), bound().Phase(corev1.PodRunning).Obj(), priorityStatusOnly},
		{"failed", bound().Phase(corev1.PodRunning).Obj(), bound().Phase(corev1.PodFailed).Obj(), 0},
		{"succeeded", bound().Phase(corev1.PodRunning).Obj(), bound().Phase(corev1.PodSucceeded).Obj(), 0},
		{"terminating", bound().Obj(), bound().Terminating().Obj(), 0},
		{"relabelled", bound().Obj(), bound().Label("tier", "gold").Obj(), 0},
		{"avoiding nodes", bound().Obj(), func() *corev1.Pod {
			p := bound().Obj()
			p.Annotations = map[string]string{peapodv1alpha1.AvoidedNodesAnnotation: "node-2"}
			return p
		}(), 0},
	}
	for _, c := range cases {
		if got := memberUpdatePriority(c.old, c.pod); got != c.want {
			t.Errorf("%s: priority %d, want %d", c.name, got, c.want)
		}
	}
}

// Only a group's own status writes wait behind the rest; a spec change, a deletion and the metadata peapod reads
// do not.
func TestStatusOnly(t *testing.T) {
	group := func() *peapodv1alpha1.PodGroup {
		g := pt.MakePodGroup("web", "default").Replicas(3).Obj()
		g.Generation = 2
		return g
	}
	deleted := metav1.Now()
	cases := []struct {
		name   string
		change func(*peapodv1alpha1.PodGroup)
		want   bool
	}{
		{"status", func(g *peapodv1alpha1.PodGroup) { g.Status.ReadyReplicas = 3 }, true},
		{"spec", func(g *peapodv1alpha1.PodGroup) { g.Generation = 3 }, false},
		{"deletion", func(g *peapodv1alpha1.PodGroup) { g.DeletionTimestamp = &deleted }, false},
		{"labels", func(g *peapodv1alpha1.PodGroup) { g.Labels = map[string]string{"a": "b"} }, false},
		{"annotations", func(g *peapodv1alpha1.PodGroup) { g.Annotations = map[string]string{"a": "b"} }, false},
		{"finalizers", func(g *peapodv1alpha1.PodGroup) { g.Finalizers = []string{"example.com/keep"} }, false},
	}
	for _, c := range cases {
		g := group()
		c.change(g)
		if got := statusOnly(group(), g); got != c.want {
			t.Errorf("%s: statusOnly %t, want %t", c.name, got, c.want)
		}
	}
}

// Under a backlog a node's change of health is taken first, then what creates or moves members, and status
// refreshes last: a failover does not wait behind thousands of members becoming Ready.
func TestQueueTakesNodeHealthFirstAndStatusRefreshesLast(t *testing.T) {
	ctx := context.Background()
	q := priorityqueue.New[reconcile.Request]("podgroup-test")
	defer q.ShutDown()
	r := &PodGroupReconciler{Expectations: expectations.NewStore(clock.RealClock{})}
	member := func(group string) *pt.PodWrapper {
		w := pt.MakeMemberPod(group, 0, "r")
		w.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(pt.MakePodGroup(group, "default").Obj())}
		w.Spec.NodeName = "node-1"
		return w
	}
	unbound := member("bound").Obj()
	unbound.Spec.NodeName = ""
	before := pt.MakePodGroup("status", "default").Obj()
	after := before.DeepCopy()
	after.Status.ReadyReplicas = 1

	// Queued in the worst order: the failover last.
	memberPodHandler{r}.Update(ctx, event.TypedUpdateEvent[*corev1.Pod]{
		ObjectOld: member("progress").Obj(), ObjectNew: member("progress").Ready(time.Now()).Obj()}, q)
	groupStatusWrites.Update(ctx, event.UpdateEvent{ObjectOld: before, ObjectNew: after}, q)
	memberPodHandler{r}.Update(ctx, event.TypedUpdateEvent[*corev1.Pod]{ObjectOld: unbound, ObjectNew: member("bound").Obj()}, q)
	failover := nodeHealthHandler{groups: func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "default", Name: "failover"}}}
	}}
	failover.Generic(ctx, event.GenericEvent{Object: &corev1.Node{}}, q)

	var order []string
	for q.Len() > 0 {
		req, _, _ := q.GetWithPriority()
		order = append(order, req.Name)
		q.Done(req)
	}
	if len(order) != 4 || order[0] != "failover" || order[1] != "bound" {
		t.Fatalf("taken in the order %v, want failover, bound, then the status refreshes", order)
	}
}
