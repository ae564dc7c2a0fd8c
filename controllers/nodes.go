package controllers

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

// podNodeIndex indexes cached member Pods by the node they are bound to.
const podNodeIndex = "spec.nodeName"

// defaultFailureAfter is spec.migration.nodeFailure.after when unset.
const defaultFailureAfter = 20 * time.Second

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

// nodeVerdicts judges every node the group's members are bound to, from the cached Nodes and Leases.
func (r *PodGroupReconciler) nodeVerdicts(ctx context.Context, g *peapodv1alpha1.PodGroup, pods []*corev1.Pod,
	now time.Time) (map[string]nodehealth.Verdict, error) {
	after, fencingRequired := failurePolicy(g)
	verdicts := map[string]nodehealth.Verdict{}
	for _, pod := range pods {
		name := pod.Spec.NodeName
		if name == "" {
			continue
		}
		if _, done := verdicts[name]; done {
			continue
		}
		var node corev1.Node
		var nodePtr *corev1.Node
		switch err := r.Get(ctx, types.NamespacedName{Name: name}, &node); {
		case err == nil:
			nodePtr = &node
		case !apierrors.IsNotFound(err):
			return nil, err
		}
		var lease coordinationv1.Lease
		var leasePtr *coordinationv1.Lease
		switch err := r.Get(ctx, types.NamespacedName{Namespace: corev1.NamespaceNodeLease, Name: name}, &lease); {
		case err == nil:
			leasePtr = &lease
		case !apierrors.IsNotFound(err):
			return nil, err
		}
		verdicts[name] = nodehealth.Judge(nodePtr, leasePtr, after, fencingRequired, now)
	}
	return verdicts, nil
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

// leaseMonitor notices nodes going silent: a node that stops renewing its Lease sends no event at all, so the
// Leases are looked at every second, and the groups on a node are reconciled when it turns silent or speaks
// again. Their reconcile then decides, and requeues itself for the moment `after` runs out.
type leaseMonitor struct {
	r      *PodGroupReconciler
	events chan event.GenericEvent

	silent map[string]bool
}

// silentNodes lists the nodes whose Lease renewals have stopped, as the cache shows them now (not the monitor's
// last look, which can be a second behind a node that came back). New members must not go there: the scheduler
// has no sign of the failure until the controller-manager taints the node.
func (r *PodGroupReconciler) silentNodes(ctx context.Context, now time.Time) ([]string, error) {
	var leases coordinationv1.LeaseList
	if err := r.List(ctx, &leases, client.InNamespace(corev1.NamespaceNodeLease)); err != nil {
		return nil, err
	}
	var out []string
	for i := range leases.Items {
		if nodehealth.Silent(&leases.Items[i], now) {
			out = append(out, leases.Items[i].Name)
		}
	}
	return out, nil
}

func (m *leaseMonitor) Start(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m.scan(ctx)
		}
	}
}

func (m *leaseMonitor) scan(ctx context.Context) {
	var leases coordinationv1.LeaseList
	if err := m.r.List(ctx, &leases, client.InNamespace(corev1.NamespaceNodeLease)); err != nil {
		return
	}
	now := m.r.Clock.Now()
	for i := range leases.Items {
		lease := &leases.Items[i]
		silent := nodehealth.Silent(lease, now)
		if silent == m.silent[lease.Name] {
			continue
		}
		m.silent[lease.Name] = silent
		for _, req := range m.r.groupsOnNode(ctx, lease.Name) {
			group := &peapodv1alpha1.PodGroup{}
			group.Namespace, group.Name = req.Namespace, req.Name
			select {
			case m.events <- event.GenericEvent{Object: group}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// NeedLeaderElection: only the leader acts on what it sees.
func (m *leaseMonitor) NeedLeaderElection() bool { return true }

// failedNodes are the nodes new members keep off: those of this group's members judged unhealthy, and every node
// gone silent (a replacement would otherwise land on the very node it leaves, which looks empty to the
// scheduler).
func (r *PodGroupReconciler) failedNodes(ctx context.Context, verdicts map[string]nodehealth.Verdict, now time.Time) ([]string, error) {
	silent, err := r.silentNodes(ctx, now)
	if err != nil {
		return nil, err
	}
	avoid := map[string]bool{}
	for _, name := range silent {
		avoid[name] = true
	}
	for name, v := range verdicts {
		if v.Unhealthy || v.Replace || v.AwaitFencing {
			avoid[name] = true
		}
	}
	out := make([]string, 0, len(avoid))
	for name := range avoid {
		out = append(out, name)
	}
	return out, nil
}
