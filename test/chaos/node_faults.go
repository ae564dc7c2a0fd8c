package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/test/utils"
)

// allSilentFor is how long every node is silent at once.
const allSilentFor = 30 * time.Second

// nodeSilent stops a node's kubelet, as a machine that lost power nobody noticed, and brings it back 5-40 s
// later: shorter than nodeFailure.after or longer.
func (f *campaign) nodeSilent(ctx context.Context) (string, error) {
	nodes := f.pickNodes(1)
	down := f.between(5*time.Second, 40*time.Second)
	what := fmt.Sprintf("%s silent for %s, running %s", nodes[0], down, strings.Join(f.w.podsOn(nodes[0]), " "))
	return what, f.silentFor(ctx, nodes, down)
}

// nodeFenced stops a node's kubelet, fences it (the out-of-service taint) 2 s to nodeFailure.after + 5 s later,
// as an administrator who has made sure the machine is off, waits until the groups have converged without it,
// then brings the machine back and removes the taint.
func (f *campaign) nodeFenced(ctx context.Context) (string, error) {
	node := f.pickNodes(1)[0]
	fenceAfter := f.between(2*time.Second, f.o.after()+5*time.Second)
	what := fmt.Sprintf("%s silent, fenced %s later, running %s", node, fenceAfter, strings.Join(f.w.podsOn(node), " "))
	if err := f.silence(ctx, node); err != nil {
		return what, err
	}
	if err := sleep(ctx, fenceAfter); err != nil {
		return what, err
	}
	// Timed from before the write: peapod may act on the taint before the answer to it reaches a loaded machine.
	f.w.setFenced(node, true)
	fenced := time.Now()
	if err := utils.Fence(ctx, f.c.Clientset, node); err != nil {
		return what, fmt.Errorf("fencing %s: %w", node, err)
	}
	at, missing, err := f.w.waitConverged(ctx, f.c, f.o.convergeTimeout)
	switch {
	case err != nil:
		return what, err
	case len(missing) > 0:
		f.note("round %d: not converged %s after fencing %s: %s", f.round, f.o.convergeTimeout, node, strings.Join(missing, "; "))
	default:
		what += fmt.Sprintf("; converged %.1fs after the taint", at.Sub(fenced).Seconds())
	}
	if err := f.recoverNodes(ctx, node); err != nil {
		return what, err
	}
	if err := utils.Unfence(ctx, f.c.Clientset, node); err != nil {
		return what, fmt.Errorf("removing the taint of %s: %w", node, err)
	}
	f.w.setFenced(node, false)
	return what, nil
}

// allSilent stops every kubelet at once for 30 s: what a manager cut off from the nodes would see.
func (f *campaign) allSilent(ctx context.Context) (string, error) {
	return fmt.Sprintf("all %d nodes silent for %s", len(f.c.Nodes()), allSilentFor), f.silentFor(ctx, f.c.Nodes(), allSilentFor)
}

// zoneSilent stops the kubelets of one zone, one that runs members, for 5-40 s.
func (f *campaign) zoneSilent(ctx context.Context) (string, error) {
	zones, err := f.zones(ctx)
	if err != nil {
		return "", err
	}
	zone := zones[f.pickNodes(1)[0]]
	var nodes []string
	for node, z := range zones {
		if z == zone {
			nodes = append(nodes, node)
		}
	}
	slices.Sort(nodes)
	down := f.between(5*time.Second, 40*time.Second)
	return fmt.Sprintf("%s (%s) silent for %s", zone, strings.Join(nodes, " "), down), f.silentFor(ctx, nodes, down)
}

// silentFor silences the nodes, waits, and brings them back.
func (f *campaign) silentFor(ctx context.Context, nodes []string, down time.Duration) error {
	if err := f.silence(ctx, nodes...); err != nil {
		return err
	}
	if err := sleep(ctx, down); err != nil {
		return err
	}
	return f.recoverNodes(ctx, nodes...)
}

// silence stops the nodes' kubelets, telling the watch first.
func (f *campaign) silence(ctx context.Context, nodes ...string) error {
	for _, node := range nodes {
		f.w.setSilent(node, true)
		if err := f.c.FailNode(ctx, node); err != nil {
			return fmt.Errorf("silencing %s: %w", node, err)
		}
	}
	return nil
}

// recoverNodes brings the nodes' kubelets back at once, telling the watch first: from then on the kubelet
// confirms the deletions of the Pods it ran (kwok deletes those being deleted at once) and renews its Lease.
func (f *campaign) recoverNodes(ctx context.Context, nodes ...string) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		f.w.setSilent(node, false)
		wg.Go(func() {
			if err := f.c.RecoverNode(ctx, node); err != nil {
				errs[i] = fmt.Errorf("recovering %s: %w", node, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// zones maps each node to its zone.
func (f *campaign) zones(ctx context.Context) (map[string]string, error) {
	list, err := f.c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	zones := map[string]string{}
	for _, n := range list.Items {
		zones[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	if len(zones) == 0 {
		return nil, errors.New("no nodes")
	}
	return zones, nil
}
