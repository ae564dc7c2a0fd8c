package controllers

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// Under a backlog (thousands of groups created at once, a zone's nodes failing together) the work queue holds more
// groups than the workers take, and its priorities decide who waits. A change of a node's health comes first: it
// is a failover. Then what creates, replaces or deletes members, at the default priority: a group created or
// its spec changed, a member bound, gone, terminating or finished. Last what only refreshes a status: a member's
// progress on its node (started, Ready) and the group's own status write. Priorities order the queue and
// nothing else: every event still reconciles its group, and a group queued at several takes the highest.
const (
	priorityNodeHealth = 100
	priorityStatusOnly = handler.LowPriority
)

// addAt queues a group at a priority; a queue without priorities just queues it.
func addAt(q queue, req reconcile.Request, priority int) {
	if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: &priority}, req)
		return
	}
	q.Add(req)
}

// createPriority is an object's creation's priority: the given one, or the lowest for what the initial list
// shows a manager starting, which looks at every group once anyway.
func createPriority(inInitialList bool, priority int) int {
	if inInitialList {
		return handler.LowPriority
	}
	return priority
}

// memberUpdatePriority is the priority of a member Pod's update: a status refresh unless it can change what is
// done with the member (its node, its labels or the nodes it avoids, a deletion, a finished phase).
func memberUpdatePriority(old, pod *corev1.Pod) int {
	finished := pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
	if pod.DeletionTimestamp != nil || finished || old.Spec.NodeName != pod.Spec.NodeName ||
		!maps.Equal(old.Labels, pod.Labels) ||
		old.Annotations[peapodv1alpha1.AvoidedNodesAnnotation] != pod.Annotations[peapodv1alpha1.AvoidedNodesAnnotation] {
		return 0
	}
	return priorityStatusOnly
}

// statusOnly tells whether a group's update changed nothing but its status (peapod's own status writes, mostly):
// the spec, the metadata peapod reads and the deletion state are as they were.
func statusOnly(old, g client.Object) bool {
	return old.GetGeneration() == g.GetGeneration() && old.GetDeletionTimestamp().Equal(g.GetDeletionTimestamp()) &&
		maps.Equal(old.GetLabels(), g.GetLabels()) && maps.Equal(old.GetAnnotations(), g.GetAnnotations()) &&
		equality.Semantic.DeepEqual(old.GetFinalizers(), g.GetFinalizers()) &&
		equality.Semantic.DeepEqual(old.GetOwnerReferences(), g.GetOwnerReferences())
}

// groupStatusWrites queues a group on an update of nothing but its status, at the lowest priority; the group's
// other events are For's (see notStatusOnly).
var groupStatusWrites = handler.Funcs{UpdateFunc: func(_ context.Context, e event.UpdateEvent, q queue) {
	if statusOnly(e.ObjectOld, e.ObjectNew) {
		addAt(q, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.ObjectNew)}, priorityStatusOnly)
	}
}}

var notStatusOnly = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !statusOnly(e.ObjectOld, e.ObjectNew) }}

// nodeHealthHandler queues, at the node-health priority, the groups a node event or the lease monitor names.
type nodeHealthHandler struct {
	groups func(ctx context.Context, o client.Object) []reconcile.Request
}

var _ handler.TypedEventHandler[client.Object, reconcile.Request] = nodeHealthHandler{}

func (h nodeHealthHandler) add(ctx context.Context, o client.Object, q queue) {
	h.addAt(ctx, o, q, priorityNodeHealth)
}

func (h nodeHealthHandler) addAt(ctx context.Context, o client.Object, q queue, priority int) {
	for _, req := range h.groups(ctx, o) {
		addAt(q, req, priority)
	}
}

func (h nodeHealthHandler) Create(ctx context.Context, e event.CreateEvent, q queue) {
	// A manager starting looks at every group once anyway; the lease monitor tells which nodes are silent.
	h.addAt(ctx, e.Object, q, createPriority(e.IsInInitialList, priorityNodeHealth))
}

func (h nodeHealthHandler) Update(ctx context.Context, e event.UpdateEvent, q queue) {
	h.add(ctx, e.ObjectNew, q)
}

func (h nodeHealthHandler) Delete(ctx context.Context, e event.DeleteEvent, q queue) {
	h.add(ctx, e.Object, q)
}

func (h nodeHealthHandler) Generic(ctx context.Context, e event.GenericEvent, q queue) {
	h.add(ctx, e.Object, q)
}
