package plan

import (
	"cmp"

	corev1 "k8s.io/api/core/v1"

	"github.com/peapod-io/peapod/internal/desired"
)

// Members picks the Pod that holds each ordinal's identity. Usually there is one; a member being migrated
// make-before-break briefly has two, but the caller sets the in-flight replacement aside before asking. Of the
// rest, a live Pod wins over a terminating one (a terminating one holds the identity only while it is alone),
// and of two live Pods the older wins: the newer can only be the replacement of a migration that was cancelled
// or failed before it committed, since committing deletes the old Pod. Extra lists the live losers, to delete.
// Pods without a valid ordinal are strays, also in extra.
func Members(pods []*corev1.Pod) (byOrdinal map[int]*corev1.Pod, extra []*corev1.Pod) {
	byOrdinal = map[int]*corev1.Pod{}
	for _, pod := range pods {
		ordinal, ok := desired.OrdinalOf(pod.Labels)
		if !ok {
			if pod.DeletionTimestamp == nil {
				extra = append(extra, pod)
			}
			continue
		}
		held, found := byOrdinal[ordinal]
		if !found {
			byOrdinal[ordinal] = pod
			continue
		}
		winner, loser := held, pod
		if holdsBefore(pod, held) {
			winner, loser = pod, held
		}
		byOrdinal[ordinal] = winner
		if loser.DeletionTimestamp == nil {
			extra = append(extra, loser)
		}
	}
	return byOrdinal, extra
}

// holdsBefore says Pod a has the better claim to an identity than Pod b.
func holdsBefore(a, b *corev1.Pod) bool {
	if aLive, bLive := a.DeletionTimestamp == nil, b.DeletionTimestamp == nil; aLive != bLive {
		return aLive
	}
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c < 0
	}
	return cmp.Less(a.Name, b.Name)
}
