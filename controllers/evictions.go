package controllers

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod-io/peapod/internal/plan"
)

// evictionNotices remembers when members were first left to Kubernetes' taint eviction, so the wait is bounded
// even for a taint that carries no time (see plan.Plan.AwaitingEviction). In memory: a restarted manager waits
// once more, a few seconds at most.
type evictionNotices struct {
	mu      sync.Mutex
	noticed map[types.UID]plan.EvictionNotice
}

// of returns the notices of the given Pods.
func (n *evictionNotices) of(pods []*corev1.Pod) map[types.UID]plan.EvictionNotice {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[types.UID]plan.EvictionNotice{}
	for _, pod := range pods {
		if at, ok := n.noticed[pod.UID]; ok {
			out[pod.UID] = at
		}
	}
	return out
}

// notice records the Pods not noticed before, and forgets notices old enough to be of no use.
func (n *evictionNotices) notice(pods []*corev1.Pod, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.noticed == nil {
		n.noticed = map[types.UID]plan.EvictionNotice{}
	}
	for uid, notice := range n.noticed {
		if now.Sub(notice.At) > time.Minute {
			delete(n.noticed, uid)
		}
	}
	for _, pod := range pods {
		if _, ok := n.noticed[pod.UID]; !ok {
			n.noticed[pod.UID] = plan.EvictionNotice{At: now, WhileLive: pod.DeletionTimestamp == nil}
		}
	}
}
