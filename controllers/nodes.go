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
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

// podNodeIndex indexes cached member Pods by the node they are bound to.
const podNodeIndex = "spec.nodeName"

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

// nodeVerdicts judges every node the group's members are bound to (nodehealth.JudgeGroup), from the cached Nodes
// and the observer's evidence. A Node missing from the cache is read live: only a NotFound there, for a node the
// manager saw, makes it deleted.
func (r *PodGroupReconciler) nodeVerdicts(nodes *clusterNodes, g *peapodv1alpha1.PodGroup, pods []*corev1.Pod,
	now time.Time) (map[string]nodehealth.Verdict, error) {
	after, fencingRequired := desired.FailurePolicyOf(g)
	return nodehealth.JudgeGroup(pods, nodes, r.Observer, after, fencingRequired, r.threshold(), now)
}

// clusterNodes reads Nodes for nodehealth from the cache, and past it when the cache does not have one. The list of
// all Nodes is read once: a reconcile judges disruption and picks the nodes to avoid from the same view.
type clusterNodes struct {
	ctx context.Context
	r   *PodGroupReconciler
	all []*corev1.Node
}

func (n *clusterNodes) Node(name string) (*corev1.Node, error) { return n.r.nodeNamed(n.ctx, name) }

func (n *clusterNodes) All() ([]*corev1.Node, error) {
	if n.all != nil {
		return n.all, nil
	}
	var list corev1.NodeList
	// Read only, so not copied: every creation and every suspected node lists all of them.
	if err := n.r.List(n.ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	n.all = make([]*corev1.Node, 0, len(list.Items))
	for i := range list.Items {
		n.all = append(n.all, &list.Items[i])
	}
	return n.all, nil
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
	nodes, err := (&clusterNodes{ctx: ctx, r: r}).All()
	if err != nil {
		return nodehealth.Disruption{}, err
	}
	return nodehealth.AssessNodes(nodes, r.Observer, r.threshold(), now), nil
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
	if !v.Declared() && !v.Window.Equal(r.Observer.Window()) {
		return false // judged on silence in a window that has since begun again: judge again
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
	read := r.Clock.Now() // the read may have waited: what it saw is of now, not of the judgement
	switch {
	case apierrors.IsNotFound(err):
		r.Observer.Sees(read)
		return true
	case err != nil:
		r.Observer.Blind()
		return false
	}
	r.Observer.Sees(read)
	if !v.Window.Equal(r.Observer.Window()) {
		// The view broke while the read was in flight (it waited out an etcd outage, say) and came back with
		// it: the Lease is unrenewed because the node could not renew, not because it died. Judge again.
		return false
	}
	return !r.Observer.LeaseRenewedSince(&lease, read)
}

// groupsOnNode lists the groups with a member bound to the node, to reconcile when the node changes.
func (r *PodGroupReconciler) groupsOnNode(ctx context.Context, node string) []reconcile.Request {
	var pods corev1.PodList
	// Read only (their controller references), so not copied: a node holds hundreds of Pods.
	if err := r.List(ctx, &pods, client.MatchingFields{podNodeIndex: node}, client.UnsafeDisableDeepCopy); err != nil {
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

// failedNodes are the nodes new Pods keep off (nodehealth.FailedNodes).
func (r *PodGroupReconciler) failedNodes(cluster *clusterNodes, verdicts map[string]nodehealth.Verdict, now time.Time) ([]string, error) {
	nodes, err := cluster.All()
	if err != nil {
		return nil, err
	}
	return nodehealth.FailedNodes(nodes, verdicts, r.Observer, now), nil
}
