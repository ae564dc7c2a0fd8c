package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// memberPodHandler enqueues a member Pod's group, and first tells the expectations what the watch showed: a
// creation when the Pod appears, a deletion when it starts terminating or is gone.
type memberPodHandler struct{ r *PodGroupReconciler }

var _ handler.TypedEventHandler[*corev1.Pod, reconcile.Request] = memberPodHandler{}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h memberPodHandler) Create(_ context.Context, e event.TypedCreateEvent[*corev1.Pod], q queue) {
	if req, ok := groupOf(e.Object); ok {
		h.r.Expectations.CreationObserved(req.String(), e.Object.Name)
		if e.Object.DeletionTimestamp != nil {
			h.r.Expectations.DeletionObserved(req.String(), e.Object.UID)
		}
		addAt(q, req, createPriority(e.IsInInitialList, 0))
	}
}

func (h memberPodHandler) Update(_ context.Context, e event.TypedUpdateEvent[*corev1.Pod], q queue) {
	if req, ok := groupOf(e.ObjectNew); ok {
		if e.ObjectNew.DeletionTimestamp != nil {
			h.r.Expectations.DeletionObserved(req.String(), e.ObjectNew.UID)
		}
		addAt(q, req, memberUpdatePriority(e.ObjectOld, e.ObjectNew))
	}
}

func (h memberPodHandler) Delete(_ context.Context, e event.TypedDeleteEvent[*corev1.Pod], q queue) {
	if req, ok := groupOf(e.Object); ok {
		h.r.Expectations.CreationObserved(req.String(), e.Object.Name)
		h.r.Expectations.DeletionObserved(req.String(), e.Object.UID)
		q.Add(req)
	}
}

func (h memberPodHandler) Generic(_ context.Context, e event.TypedGenericEvent[*corev1.Pod], q queue) {
	if req, ok := groupOf(e.Object); ok {
		q.Add(req)
	}
}

// groupOf is the PodGroup controlling a Pod, if any.
func groupOf(pod *corev1.Pod) (reconcile.Request, bool) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "PodGroup" || ref.APIVersion != peapodv1alpha1.GroupVersion.String() {
		return reconcile.Request{}, false
	}
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}}, true
}
