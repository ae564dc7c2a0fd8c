package controllers

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/utils"
)

// startFakeKubelet plays the kubelet of the envtest tier, which has none: every Pod in the namespace that is not
// being deleted becomes Running and Ready shortly after it is created. It stops when the spec ends (not with the
// context of the node that starts it).
func startFakeKubelet(namespace string) {
	utils.RunUntilCleanup(func(ctx context.Context) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				markPodsReady(ctx, namespace)
			}
		}
	})
}

func markPodsReady(ctx context.Context, namespace string) {
	var pods corev1.PodList
	if err := k8sClient.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
		return
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodRunning {
			continue
		}
		pod.Status.Phase = corev1.PodRunning
		pod.Status.PodIP = "10.244.0.10"
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
		if err := k8sClient.Status().Update(ctx, pod); err != nil {
			GinkgoWriter.Println("fake kubelet:", err) // a conflict is retried on the next tick
		}
	}
}

// availabilityWatcher records the fewest Ready members seen at once, by polling while a spec runs.
type availabilityWatcher struct {
	mu     sync.Mutex
	lowest int
}

func (w *availabilityWatcher) minAvailable() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lowest
}

func watchAvailability(namespace string, replicas int) *availabilityWatcher {
	w := &availabilityWatcher{lowest: replicas}
	utils.RunUntilCleanup(func(ctx context.Context) {
		for ctx.Err() == nil {
			var pods corev1.PodList
			if err := k8sClient.List(ctx, &pods, client.InNamespace(namespace)); err == nil {
				ready := 0
				for i := range pods.Items {
					if plan.Ready(&pods.Items[i]) {
						ready++
					}
				}
				w.mu.Lock()
				w.lowest = min(w.lowest, ready)
				w.mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return w
}
