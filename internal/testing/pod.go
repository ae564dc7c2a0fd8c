package testing

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// PodWrapper builds a member Pod as the cache would show it.
type PodWrapper struct{ corev1.Pod }

// MakeMemberPod starts a Pending member Pod of a group at a revision.
func MakeMemberPod(group string, ordinal int, revision string) *PodWrapper {
	name := group + "-" + strconv.Itoa(ordinal)
	return &PodWrapper{corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name:      name,
		Namespace: "default",
		UID:       types.UID(name + "-" + revision),
		Labels: map[string]string{
			peapodv1alpha1.GroupLabel:    group,
			peapodv1alpha1.OrdinalLabel:  strconv.Itoa(ordinal),
			peapodv1alpha1.RevisionLabel: revision,
		},
	}}}
}

// Obj returns the Pod.
func (w *PodWrapper) Obj() *corev1.Pod { return &w.Pod }

// Ready marks the Pod Running and Ready since the given time.
func (w *PodWrapper) Ready(since time.Time) *PodWrapper {
	w.Status.Phase = corev1.PodRunning
	w.Status.Conditions = []corev1.PodCondition{{
		Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(since),
	}}
	return w
}

// Phase sets the Pod's phase.
func (w *PodWrapper) Phase(p corev1.PodPhase) *PodWrapper {
	w.Status.Phase = p
	return w
}

// Terminating marks the Pod as being deleted.
func (w *PodWrapper) Terminating() *PodWrapper {
	now := metav1.Now()
	w.DeletionTimestamp = &now
	return w
}

// Created sets the Pod's creation time.
func (w *PodWrapper) Created(at time.Time) *PodWrapper {
	w.CreationTimestamp = metav1.NewTime(at)
	return w
}

// Label sets a label.
func (w *PodWrapper) Label(key, value string) *PodWrapper {
	w.Labels[key] = value
	return w
}

// Name renames the Pod (a migration's replacement carries the member's identity under its own name).
func (w *PodWrapper) Name(name string) *PodWrapper {
	w.ObjectMeta.Name = name
	return w
}

// Unschedulable marks the Pod as one the scheduler found no node for, with its message.
func (w *PodWrapper) Unschedulable(message string) *PodWrapper {
	w.Status.Phase = corev1.PodPending
	w.Status.Conditions = append(w.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message,
	})
	return w
}
