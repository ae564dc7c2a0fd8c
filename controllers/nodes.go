package controllers

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

// podNodeIndex indexes cached member Pods by the node they are bound to.
const podNodeIndex = "spec.nodeName"

// defaultFailureAfter is spec.migration.nodeFailure.after when unset.
const defaultFailureAfter = 20 * time.Second

// ReasonNodeUnknown is the verdict on a node that neither the cache nor a live read knows and the manager never
// saw: not a failed node (a template's nodeName, or a node deleted while no manager ran, which PodGC cleans up).
const ReasonNodeUnknown = "NodeUnknown"

// failurePolicy is the group's node-failure policy with its defaults.
func failurePolicy(g *peapodv1alpha1.PodGroup) (after time.Duration, fencingRequired bool) {
	after = defaultFailureAfter
	if m := g.Spec.Migration; m != nil && m.NodeFailure != nil {
		if m.NodeFailure.After != nil {
			after = m.NodeFailure.After.Duration
		}
		fencingRequired = m.NodeFailure.Fencing == peapodv1alpha1.FencingRequired
	}
	return after, fencingRequired
}

// observeNodes feeds every Lease and Node the cache sees to the observer, timed by the manager's clock.
func (r *PodGroupReconciler) observeNodes(ctx context.Context, c cache.Cache) error {
	leases, err := c.GetInformer(ctx, &coordinationv1.Lease{})
	if err != nil {
		return err
	}
	onLease := func(o any) {
		if lease, ok := o.(*coordinationv1.Lease); ok {
			r.Observer.Lease(lease, r.Clock.Now())
		}
	}
	if _, err := leases.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: onLease, UpdateFunc: func(_, o any) { onLease(o) },
	}); err != nil {
		return err
	}
	nodes, err := c.GetInformer(ctx, &corev1.Node{})
	if err != nil {
		return err
	}
	onNode := func(o any) {
		if node, ok := o.(*corev1.Node); ok {
			r.Observer.Node(node, r.Clock.Now())
		}
	}
	_, err = nodes.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: onNode, UpdateFunc: func(_, o any) { onNode(o) }})
	return err
}

// nodeVerdicts judges every node the group's members are bound to, from the cached Nodes and the observer's
// evidence. A Node missing from the cache is read live: only a NotFound there, for a node the manager saw, makes
// it deleted. Verdicts that would replace members on silence are held back while too much of the cluster looks
// unhealthy at once (see nodehealth.Disruption).
func (r *PodGroupReconciler) nodeVerdicts(ctx context.Context, g *peapodv1alpha1.PodGroup, pods []*corev1.Pod,
	now time.Time) (map[string]nodehealth.Verdict, error) {
	after, fencingRequired := failurePolicy(g)
	verdicts := map[string]nodehealth.Verdict{}
	zones := map[string]string{}
	inferred := false
	for _, pod := range pods {
		name := pod.Spec.NodeName
		if name == "" {
			continue
		}
		if _, done := verdicts[name]; done {
			continue
		}
		node, err := r.nodeNamed(ctx, name)
		if err != nil {
			return nil, err
		}
		if node == nil && !r.Observer.Known(name) {
			verdicts[name] = nodehealth.Verdict{Unhealthy: true, Reason: ReasonNodeUnknown}
			continue
		}
		ev := r.Observer.Evidence(name)
		v := nodehealth.Judge(node, ev, after, fencingRequired, now)
		if !v.Unhealthy && ev.Blind && ev.Quiet(now) {
			// Not judged, but not heard from either: held, and the group is told why.
			v = nodehealth.Verdict{Unhealthy: true, Reason: nodehealth.ReasonLeaseExpired, Since: ev.HeardAt}
		}
		inferred = inferred || (v.Unhealthy && !v.Declared())
		if node != nil {
			zones[name] = node.Labels[nodehealth.ZoneLabel]
		}
		verdicts[name] = v
	}
	if !inferred {
		return verdicts, nil
	}
	d, err := r.disruption(ctx, now)
	if err != nil {
		return nil, err
	}
	for name, v := range verdicts {
		if !v.Unhealthy || v.Declared() {
			continue
		}
		if paused, why := d.Paused(zones[name]); paused {
			v.Replace, v.AwaitFencing, v.Paused = false, false, why
			verdicts[name] = v
		}
	}
	return verdicts, nil
}

// nodeNamed reads a Node from the cache, and live when the cache does not have it; nil means it does not exist.
func (r *PodGroupReconciler) nodeNamed(ctx context.Context, name string) (*corev1.Node, error) {
	var node corev1.Node
	err := r.Get(ctx, types.NamespacedName{Name: name}, &node)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, types.NamespacedName{Name: name}, &node)
		if err != nil && !apierrors.IsNotFound(err) {
			r.Observer.Blind()
		}
	}
	switch {
	case err == nil:
		return &node, nil
	case apierrors.IsNotFound(err):
		return nil, nil
	}
	return nil, fmt.Errorf("reading node %s: %w", name, err)
}

// disruption assesses the whole cluster from the cached Nodes and the observer's evidence.
func (r *PodGroupReconciler) disruption(ctx context.Context, now time.Time) (nodehealth.Disruption, error) {
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return nodehealth.Disruption{}, err
	}
	states := make([]nodehealth.NodeState, 0, len(nodes.Items))
	for i := range nodes.Items {
		n := &nodes.Items[i]
		ev := r.Observer.Evidence(n.Name)
		unhealthy := nodehealth.Judge(n, ev, 0, false, now).Unhealthy || (ev.Blind && ev.Quiet(now))
		states = append(states, nodehealth.NodeState{Name: n.Name, Zone: n.Labels[nodehealth.ZoneLabel], Unhealthy: unhealthy})
	}
	d := nodehealth.Assess(states, r.threshold())
	d.Stalled = r.Observer.IsBlind()
	return d, nil
}

func (r *PodGroupReconciler) threshold() float64 {
	if r.UnhealthyThreshold > 0 {
		return r.UnhealthyThreshold
	}
	return nodehealth.DefaultUnhealthyThreshold
}

// confirmFailure re-reads, past the cache, what a verdict to replace a node's members rests on, just before the
// irreversible act: the node's Lease for a silent or NotReady node (a renewal the cache has not shown yet means
// it lives), the out-of-service taint for a fenced one. A failed read makes the observer blind: no act.
func (r *PodGroupReconciler) confirmFailure(ctx context.Context, name string, v nodehealth.Verdict, now time.Time) bool {
	if v.Reason == nodehealth.ReasonNodeDeleted {
		return true // read live already
	}
	if v.Reason == nodehealth.ReasonOutOfService {
		var node corev1.Node
		if err := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, &node); err != nil {
			if !apierrors.IsNotFound(err) {
				r.Observer.Blind()
				return false
			}
			return true
		}
		return nodehealth.Judge(&node, nodehealth.Evidence{}, 0, false, now).Reason == nodehealth.ReasonOutOfService
	}
	var lease coordinationv1.Lease
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: corev1.NamespaceNodeLease, Name: name}, &lease)
	switch {
	case apierrors.IsNotFound(err):
		r.Observer.Sees(now)
		return true
	case err != nil:
		r.Observer.Blind()
		return false
	}
	r.Observer.Sees(now)
	return !r.Observer.LeaseRenewedSince(&lease, now)
}

// groupsOnNode lists the groups with a member bound to the node, to reconcile when the node changes.
func (r *PodGroupReconciler) groupsOnNode(ctx context.Context, node string) []reconcile.Request {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.MatchingFields{podNodeIndex: node}); err != nil {
		return nil
	}
	seen := map[reconcile.Request]bool{}
	var out []reconcile.Request
	for i := range pods.Items {
		if req, ok := groupOf(&pods.Items[i]); ok && !seen[req] {
			seen[req] = true
			out = append(out, req)
		}
	}
	return out
}

// failedNodes are the nodes new members keep off: those of this group's members judged unhealthy, and every node
// the manager observes silent (a replacement would otherwise land on the very node it leaves, which looks empty
// to the scheduler). A list that would leave a member no node at all is no list: the member waits for the
// scheduler rather than for a node to come back.
func (r *PodGroupReconciler) failedNodes(ctx context.Context, verdicts map[string]nodehealth.Verdict, now time.Time) ([]string, error) {
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(nodes.Items))
	for i := range nodes.Items {
		names = append(names, nodes.Items[i].Name)
	}
	return nodehealth.Avoid(names, func(name string) bool {
		v, judged := verdicts[name]
		return (judged && v.Unhealthy) || r.Observer.Evidence(name).Silent(now)
	}), nil
}
