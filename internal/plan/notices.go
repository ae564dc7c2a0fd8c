package plan

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// EvictionNotices remember when members were first left to Kubernetes' taint eviction, so the wait is bounded even
// for a taint that carries no time (see Plan.AwaitingEviction). In memory: a restarted manager waits once more, a
// few seconds at most. The zero value is ready to use.
type EvictionNotices struct {
	mu      sync.Mutex
	noticed map[types.UID]EvictionNotice
}

// Of returns the notices of the given Pods.
func (n *EvictionNotices) Of(pods []*corev1.Pod) map[types.UID]EvictionNotice {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[types.UID]EvictionNotice{}
	for _, pod := range pods {
		if notice, ok := n.noticed[pod.UID]; ok {
			out[pod.UID] = notice
		}
	}
	return out
}

// Notice records the Pods not noticed before, and forgets notices old enough to be of no use.
func (n *EvictionNotices) Notice(pods []*corev1.Pod, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.noticed == nil {
		n.noticed = map[types.UID]EvictionNotice{}
	}
	for uid, notice := range n.noticed {
		if now.Sub(notice.At) > time.Minute {
			delete(n.noticed, uid)
		}
	}
	for _, pod := range pods {
		if _, ok := n.noticed[pod.UID]; !ok {
			n.noticed[pod.UID] = EvictionNotice{At: now, WhileLive: pod.DeletionTimestamp == nil}
		}
	}
}
