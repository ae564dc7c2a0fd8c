package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/peapod-io/peapod/internal/nodehealth"
)

// nodeDecisionChanged passes the Node events that can change a decision about the members on it: a Node seen or
// gone, and an update nodehealth.SameForDecisions does not call the same. The kubelet's status heartbeats change
// nothing a verdict reads; passed on, each would reconcile every group on the node, a load that grows with the
// cluster and peaks in an outage. The observer's own handler still sees every event, and the lease monitor
// notices silence, which sends no event at all.
var nodeDecisionChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, ok := e.ObjectOld.(*corev1.Node)
		node, ok2 := e.ObjectNew.(*corev1.Node)
		return !ok || !ok2 || !nodehealth.SameForDecisions(old, node)
	},
}
