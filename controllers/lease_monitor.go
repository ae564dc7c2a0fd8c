package controllers

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/metrics"
	"github.com/peapod-io/peapod/internal/nodehealth"
)

// leaseMonitor notices what no event announces: a node that stops renewing its Lease sends nothing, and neither
// does a manager whose view of the cluster stalled. Every second it checks the observer for a cluster-wide gap
// in renewals, reconciles the groups on a node when it turns silent or speaks again, and follows the disruption
// state: the groups on unhealthy nodes are reconciled when it changes (their conditions say it), and when a
// cluster-wide disruption ends every node gets a full window again before its silence counts.
type leaseMonitor struct {
	r      *PodGroupReconciler
	events chan event.GenericEvent

	silent    map[string]bool
	disrupted string
	cluster   bool
	zones     []string
	published bool
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
	now := m.r.Clock.Now()
	m.r.Observer.CheckGap(now)
	var leases coordinationv1.LeaseList
	if err := m.r.List(ctx, &leases, client.InNamespace(corev1.NamespaceNodeLease)); err != nil {
		return
	}
	changed := map[string]bool{}
	for i := range leases.Items {
		name := leases.Items[i].Name
		silent := m.r.Observer.Evidence(name).Silent(now)
		if silent != m.silent[name] {
			m.silent[name] = silent
			changed[name] = true
		}
	}
	d, err := m.r.disruption(ctx, now)
	if err != nil {
		return
	}
	m.follow(ctx, d, changed)
	for name := range changed {
		m.enqueueGroupsOn(ctx, name)
	}
}

// follow tracks the disruption state: the metric, the end of a cluster-wide pause (logged), and the nodes
// whose groups must look again.
func (m *leaseMonitor) follow(ctx context.Context, d nodehealth.Disruption, changed map[string]bool) {
	everywhere := d.Cluster || d.Stalled
	if m.cluster && !everywhere {
		// The assessment that saw it first, this one or a reconcile's, began the new window (FollowDisruption).
		logf.FromContext(ctx).Info("cluster-wide disruption over: every node gets a full window again", "state", d.String())
	}
	m.cluster = everywhere
	if state := d.String(); state != m.disrupted || !m.published {
		metrics.SetFailoverPaused(d, m.zones)
		m.zones, m.published = d.Zones, true
		m.disrupted = state
		for name, silent := range m.silent {
			if silent {
				changed[name] = true
			}
		}
	}
}

func (m *leaseMonitor) enqueueGroupsOn(ctx context.Context, node string) {
	for _, req := range m.r.groupsOnNode(ctx, node) {
		group := &peapodv1alpha1.PodGroup{}
		group.Namespace, group.Name = req.Namespace, req.Name
		select {
		case m.events <- event.GenericEvent{Object: group}:
		case <-ctx.Done():
			return
		}
	}
}

// NeedLeaderElection: only the leader acts on what it sees.
func (m *leaseMonitor) NeedLeaderElection() bool { return true }
