package plan

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Finished says the Pod's containers have all stopped for good (phase Failed or Succeeded): the member must be
// recreated.
func Finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

// ReadySince returns when the Pod last became Ready, and whether it is Ready.
func ReadySince(pod *corev1.Pod) (time.Time, bool) {
	if pod.DeletionTimestamp != nil || Finished(pod) {
		return time.Time{}, false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time, c.Status == corev1.ConditionTrue
		}
	}
	return time.Time{}, false
}

// Ready says the Pod is Ready and not being deleted.
func Ready(pod *corev1.Pod) bool {
	_, ready := ReadySince(pod)
	return ready
}

// Available says the Pod has been Ready for at least minReadySeconds.
func Available(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	since, ready := ReadySince(pod)
	if !ready {
		return false
	}
	return minReadySeconds == 0 || !now.Before(since.Add(time.Duration(minReadySeconds)*time.Second))
}

// Unschedulable says the scheduler found no node for the Pod, and why.
func Unschedulable(pod *corev1.Pod) (string, bool) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message, true
		}
	}
	return "", false
}
