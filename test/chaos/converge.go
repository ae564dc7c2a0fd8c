package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// convergePoll is how often the watch's view is checked for convergence.
const convergePoll = 100 * time.Millisecond

// unconverged describes each member that does not have exactly one live Pod, Ready and not on a silent node,
// and each live Pod of an ordinal beyond its group's replicas: invariant (c) holds when it is empty.
func (w *watcher) unconverged() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	live := map[utils.Identity][]utils.MemberPod{}
	for _, p := range w.members.LivePods() {
		live[p.Identity] = append(live[p.Identity], p)
	}
	var out []string
	for _, g := range w.groups {
		for ordinal := range g.replicas {
			m := utils.Identity{Group: g.name, Ordinal: ordinal}
			pods := live[m]
			switch {
			case len(pods) == 0:
				out = append(out, fmt.Sprintf("%s: no live Pod", m))
			case len(pods) > 1:
				out = append(out, fmt.Sprintf("%s: %d live Pods (%s)", m, len(pods), describePods(pods)))
			case !pods[0].Ready || w.silent[pods[0].Node]:
				// A Pod on a silent node serves nobody, whatever its status still says.
				out = append(out, fmt.Sprintf("%s: %s not Ready", m, describePods(pods)))
			}
			delete(live, m)
		}
	}
	for m, pods := range live {
		out = append(out, fmt.Sprintf("%s: beyond the group's replicas (%s)", m, describePods(pods)))
	}
	return sortedStrings(out)
}

func describePods(pods []utils.MemberPod) string {
	s := make([]string, 0, len(pods))
	for _, p := range pods {
		state := "Ready"
		switch {
		case p.Deleting():
			state = "being deleted"
		case !p.Ready:
			state = "not Ready"
		}
		s = append(s, fmt.Sprintf("%s on %s, %s", p.Name, cmp.Or(p.Node, "no node"), state))
	}
	slices.Sort(s)
	return fmt.Sprint(s)
}

// waitConverged waits until every member has converged, and returns when it saw that; at the timeout it
// returns the members that had not. A component of the cluster that died is an error: no round can end then.
func (w *watcher) waitConverged(ctx context.Context, c *cluster.Cluster, timeout time.Duration) (time.Time, []string, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(convergePoll)
	defer tick.Stop()
	for {
		missing := w.unconverged()
		if len(missing) == 0 {
			return time.Now(), nil, nil
		}
		if err := c.Failed(); err != nil {
			return time.Time{}, missing, err
		}
		if time.Now().After(deadline) {
			return time.Time{}, missing, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, missing, ctx.Err()
		case <-tick.C:
		}
	}
}
