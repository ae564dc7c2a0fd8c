package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// livePod is what the tracker keeps of a member's Pod that is not being deleted.
type livePod struct {
	uid   types.UID
	node  string
	ready bool
}

// lostMember is a member whose Pod was on a killed node, and when its replacement ran Ready elsewhere.
type lostMember struct {
	oldUID types.UID
	// killedAt is when its node was silenced; leftAt when its old Pod began to be deleted (peapod's move started).
	killedAt, leftAt, replacedAt time.Time
}

// memberTracker follows every member Pod through a watch, timestamping what it sees as it sees it: the members
// lost with their nodes, how many of them are being moved at once (old Pod going, replacement not Ready yet),
// and every Pod deletion.
type memberTracker struct {
	mu      sync.Mutex
	live    map[string]livePod // by Pod (member) name
	lost    map[string]*lostMember
	dead    map[string]bool
	leaving map[types.UID]bool
	// moving counts lost members whose old Pod is going and whose replacement is not Ready; peak is its maximum.
	moving, peak int
	// deletions are the Pods that began to be deleted since the last resetDeletions, as "name on node at time".
	deletions []string
	// since is when deletions were last reset.
	since time.Time
}

func trackMembers(ctx context.Context, c *cluster.Cluster) (_ *memberTracker, stop func(), err error) {
	t := &memberTracker{live: map[string]livePod{}, lost: map[string]*lostMember{}, dead: map[string]bool{},
		leaving: map[types.UID]bool{}}
	stop, err = utils.WatchPods(ctx, c.Clientset, benchNamespace, peapodv1alpha1.GroupLabel, t.observe)
	if err != nil {
		return nil, nil, err
	}
	return t, stop, nil
}

func (t *memberTracker) observe(pod *corev1.Pod, deleted bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if deleted || pod.DeletionTimestamp != nil {
		t.left(pod, now)
		if live, ok := t.live[pod.Name]; ok && live.uid == pod.UID {
			delete(t.live, pod.Name)
		}
		return
	}
	ready := plan.Ready(pod)
	t.live[pod.Name] = livePod{uid: pod.UID, node: pod.Spec.NodeName, ready: ready}
	if l := t.lost[pod.Name]; l != nil && l.replacedAt.IsZero() && pod.UID != l.oldUID && ready && !t.dead[pod.Spec.NodeName] {
		l.replacedAt = now
		if !l.leftAt.IsZero() {
			t.moving--
		}
	}
}

func (t *memberTracker) left(pod *corev1.Pod, now time.Time) {
	if t.leaving[pod.UID] {
		return
	}
	t.leaving[pod.UID] = true
	t.deletions = append(t.deletions, fmt.Sprintf("%s on %s at +%.1fs", pod.Name, pod.Spec.NodeName, now.Sub(t.since).Seconds()))
	if l := t.lost[pod.Name]; l != nil && l.oldUID == pod.UID && l.leftAt.IsZero() && l.replacedAt.IsZero() {
		l.leftAt = now
		t.moving++
		t.peak = max(t.peak, t.moving)
	}
}

// kill silences the nodes at once and records the members on them as lost; it returns how many.
func (t *memberTracker) kill(ctx context.Context, c *cluster.Cluster, nodes []string) (int, error) {
	t.mu.Lock()
	now := time.Now()
	lost := 0
	for _, node := range nodes {
		t.dead[node] = true
	}
	for name, pod := range t.live {
		if t.dead[pod.node] {
			t.lost[name] = &lostMember{oldUID: pod.uid, killedAt: now}
			lost++
		}
	}
	t.mu.Unlock()
	for _, node := range nodes {
		if err := c.FailNode(ctx, node); err != nil {
			return 0, err
		}
	}
	return lost, nil
}

// revive brings the nodes back all at once, waits until each is Ready and untainted, and forgets them dead.
func (t *memberTracker) revive(ctx context.Context, c *cluster.Cluster, nodes []string) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() { errs[i] = c.RecoverNode(ctx, node) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, node := range nodes {
		delete(t.dead, node)
	}
	return nil
}

// waitReplaced waits until every lost member runs Ready on a live node, and returns each one's time from the
// kill to that, sorted, and the most members seen moving at once.
func (t *memberTracker) waitReplaced(ctx context.Context, timeout time.Duration) (times []time.Duration, peak int, err error) {
	left := 0
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(context.Context) (bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		left = 0
		for _, l := range t.lost {
			if l.replacedAt.IsZero() {
				left++
			}
		}
		return left == 0, nil
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		return nil, 0, fmt.Errorf("%d of %d lost members not replaced: %w", left, len(t.lost), err)
	}
	for _, l := range t.lost {
		times = append(times, l.replacedAt.Sub(l.killedAt))
	}
	slices.Sort(times)
	return times, t.peak, nil
}

// waitReady waits until n members run Ready.
func (t *memberTracker) waitReady(ctx context.Context, n int, timeout time.Duration) error {
	ready := 0
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		ready = 0
		for _, pod := range t.live {
			if pod.ready {
				ready++
			}
		}
		return ready >= n, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d members Ready: %w", ready, n, err)
	}
	return nil
}

// uids is every live member's Pod UID now, by name.
func (t *memberTracker) uids() map[string]types.UID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]types.UID, len(t.live))
	for name, pod := range t.live {
		out[name] = pod.uid
	}
	return out
}

// resetDeletions starts counting deletions again; deletionsSoFar reads the count.
func (t *memberTracker) resetDeletions() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deletions, t.since = nil, time.Now()
}

func (t *memberTracker) deletionsSoFar() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.deletions)
}
