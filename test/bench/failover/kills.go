package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// leaseRenewal is how often a kubelet (here kwok) renews its node Lease by default.
const leaseRenewal = 10 * time.Second

// killNodes kills o.kills nodes, one every o.interval plus a random part of a Lease renewal period (a kill that
// always came at the same moment after the node's last renewal would measure one point of the range, not the
// range); every second kill is fenced o.fenceAfter after it.
func killNodes(ctx context.Context, c *cluster.Cluster, pods *podTracker, o options, logf func(string, ...any)) error {
	first := time.Now()
	for i := range o.kills {
		jitter := time.Duration(rand.Int64N(int64(leaseRenewal)))
		if err := utils.SleepUntil(ctx, first.Add(time.Duration(i)*o.interval+jitter)); err != nil {
			return err
		}
		victim, err := pickVictim(ctx, c, pods)
		if err != nil {
			return err
		}
		if err := c.FailNode(ctx, victim); err != nil {
			return err
		}
		k := &kill{number: i + 1, node: victim, fenced: i%2 == 1, diedAt: time.Now()}
		logf("kill %d: %s silent, %d pods on it", k.number, victim, pods.killed(k))
		if !k.fenced {
			continue
		}
		if err := utils.SleepUntil(ctx, k.diedAt.Add(o.fenceAfter)); err != nil {
			return err
		}
		if err := utils.Fence(ctx, c.Clientset, victim); err != nil {
			return fmt.Errorf("fencing %s: %w", victim, err)
		}
		k.fencedAt = time.Now()
		logf("kill %d: %s tainted out-of-service", k.number, victim)
	}
	return nil
}

// pickVictim chooses the live node with the most Ready pods of the workloads, so that a kill measures as many of
// them as it can, from the zone with the fewest dead nodes: the controller-manager stops evicting pods from a
// zone once 55% of its nodes are NotReady (--unhealthy-zone-threshold), which would stall the Deployment for a
// reason other than one dead node.
func pickVictim(ctx context.Context, c *cluster.Cluster, pods *podTracker) (string, error) {
	list, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	deadInZone := map[string]int{}
	for _, n := range list.Items {
		if pods.isDead(n.Name) {
			deadInZone[n.Labels[corev1.LabelTopologyZone]]++
		}
	}
	podsOn := pods.readyPodsPerNode()
	candidates := slices.DeleteFunc(list.Items, func(n corev1.Node) bool { return podsOn[n.Name] == 0 })
	if len(candidates) == 0 {
		return "", fmt.Errorf("no live node holds a Ready pod of the workloads")
	}
	victim := slices.MinFunc(candidates, func(a, b corev1.Node) int {
		return cmp.Or(
			cmp.Compare(deadInZone[a.Labels[corev1.LabelTopologyZone]], deadInZone[b.Labels[corev1.LabelTopologyZone]]),
			cmp.Compare(podsOn[b.Name], podsOn[a.Name]),
			cmp.Compare(a.Name, b.Name))
	})
	return victim.Name, nil
}
