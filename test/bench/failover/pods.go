package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// kill is one node killed on purpose.
type kill struct {
	number int
	node   string
	// fenced says the out-of-service taint follows the kill.
	fenced bool
	// diedAt is when kwok stopped heartbeating the node; fencedAt when the taint was written.
	diedAt, fencedAt time.Time
}

// loss is one workload's pod on a killed node, and when a replacement ran Ready elsewhere.
type loss struct {
	workload, pod string
	uid           types.UID
	kill          *kill
	// leftAt is when the old pod began to be deleted: a Deployment's replacement follows it, not a name.
	leftAt      time.Time
	replacedAt  time.Time
	replacement types.UID
	// redone counts replacements deleted again while their node lived, each followed by another one.
	redone int
}

// trackedPod is what the tracker keeps of one pod.
type trackedPod struct {
	name, workload, node string
	ready, wasReady      bool
}

// podTracker follows the workloads' pods through an informer, timestamping what it sees as it sees it, and
// matches every pod that becomes Ready for the first time to the loss it replaces.
type podTracker struct {
	mu     sync.Mutex
	pods   map[types.UID]*trackedPod
	dead   map[string]bool
	losses []*loss
	// strays are pods that became Ready after the first kill and replace no loss: a sign the bench misjudges.
	strays int
	logf   func(string, ...any)
}

// trackPods starts the tracker; stop ends its informer.
func trackPods(ctx context.Context, c *cluster.Cluster, logf func(string, ...any)) (_ *podTracker, stop func(), err error) {
	t := &podTracker{pods: map[types.UID]*trackedPod{}, dead: map[string]bool{}, logf: logf}
	stop, err = utils.WatchPods(ctx, c.Clientset, benchNamespace, workloadLabel, t.observe)
	if err != nil {
		return nil, nil, err
	}
	return t, stop, nil
}

func (t *podTracker) observe(pod *corev1.Pod, deleted bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if deleted || pod.DeletionTimestamp != nil {
		t.leaving(pod, now)
	}
	if deleted {
		delete(t.pods, pod.UID)
		return
	}
	p := t.pods[pod.UID]
	if p == nil {
		p = &trackedPod{name: pod.Name, workload: pod.Labels[workloadLabel]}
		t.pods[pod.UID] = p
	}
	p.node, p.ready = pod.Spec.NodeName, plan.Ready(pod)
	if p.ready && !p.wasReady {
		p.wasReady = true
		t.replace(pod.UID, p, now)
	}
}

// leaving notes a pod being deleted: a lost one has left, and a replacement deleted on a live node did not stay.
// The taint-eviction controller deletes by name: evicting the old member, it can hit the replacement that peapod
// has just created under the same name.
func (t *podTracker) leaving(pod *corev1.Pod, now time.Time) {
	for _, l := range t.losses {
		if l.uid == pod.UID && l.leftAt.IsZero() {
			l.leftAt = now
		}
		if l.replacement == pod.UID && !t.dead[pod.Spec.NodeName] {
			t.logf("kill %d: %-17s %s deleted again on %s, %.1fs after the node died", l.kill.number, l.workload, pod.Name,
				pod.Spec.NodeName, now.Sub(l.kill.diedAt).Seconds())
			l.replacement, l.replacedAt = "", time.Time{}
			l.redone++
		}
	}
}

// replace credits a newly Ready pod to the loss it replaces: a PodGroup member or a StatefulSet pod comes back
// under its own name; a Deployment's pods have new names, so the earliest-deleted unreplaced pod is credited.
func (t *podTracker) replace(uid types.UID, p *trackedPod, now time.Time) {
	if len(t.losses) == 0 {
		return // the bring-up
	}
	var credited *loss
	for _, l := range t.losses {
		if l.workload != p.workload || !l.replacedAt.IsZero() || l.kill.node == p.node {
			continue
		}
		if l.pod == p.name {
			credited = l
			break
		}
		if !l.leftAt.IsZero() && (credited == nil || l.leftAt.Before(credited.leftAt)) {
			credited = l
		}
	}
	if credited == nil {
		t.strays++
		t.logf("%s: %s Ready on %s replaces no lost pod", p.workload, p.name, p.node)
		return
	}
	credited.replacedAt, credited.replacement = now, uid
	t.logf("kill %d: %-17s %s Ready on %s, %.1fs after the node died", credited.kill.number, p.workload, p.name, p.node,
		now.Sub(credited.kill.diedAt).Seconds())
}

// killed records that the node died at k.diedAt, with every pod on it.
func (t *podTracker) killed(k *kill) (lost int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dead[k.node] = true
	for uid, p := range t.pods {
		if p.node == k.node {
			t.losses = append(t.losses, &loss{workload: p.workload, pod: p.name, uid: uid, kill: k})
			lost++
		}
	}
	return lost
}

// readyPodsPerNode counts the Ready pods on each live node.
func (t *podTracker) readyPodsPerNode() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	counts := map[string]int{}
	for _, p := range t.pods {
		if p.ready && !t.dead[p.node] {
			counts[p.node]++
		}
	}
	return counts
}

func (t *podTracker) isDead(node string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dead[node]
}

// waitReady waits until n pods are Ready.
func (t *podTracker) waitReady(ctx context.Context, n int, timeout time.Duration) error {
	ready := 0
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		ready = 0
		for _, p := range t.pods {
			if p.ready {
				ready++
			}
		}
		return ready >= n, nil
	})
	if err != nil {
		return fmt.Errorf("only %d of %d pods Ready: %w", ready, n, err)
	}
	return nil
}

// waitOutcomes waits until every lost pod is replaced or its window since the node's death has passed. It
// returns the losses, a replacement later than its window cleared, and the count of strays.
func (t *podTracker) waitOutcomes(ctx context.Context, c *cluster.Cluster, window time.Duration) ([]loss, int, error) {
	settled := func() bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, l := range t.losses {
			if l.replacedAt.IsZero() && time.Since(l.kill.diedAt) < window {
				return false
			}
		}
		return true
	}
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(context.Context) (bool, error) {
		return settled(), c.Failed()
	})
	if err != nil {
		return nil, 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]loss, 0, len(t.losses))
	for _, l := range t.losses {
		if l.replacedAt.Sub(l.kill.diedAt) > window {
			l.replacedAt = time.Time{} // a late replacement counts as none, as for the losses not waited for
		}
		out = append(out, *l)
	}
	return out, t.strays, nil
}
