package main

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

// renewalGrace is how long after a node is silenced a renewal already under way may still land.
const renewalGrace = 2 * time.Second

// watchLeases follows the node Leases, so the report can tell a fault that did not happen (a node silenced that
// kept renewing) or one that nobody injected (a node unheard on a loaded machine) from peapod's doing.
func (w *watcher) watchLeases(ctx context.Context) error {
	leases, err := w.cache.GetInformer(ctx, &coordinationv1.Lease{})
	if err != nil {
		return err
	}
	_, err = leases.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observeLease(obj) },
		UpdateFunc: func(_, obj any) { w.observeLease(obj) },
	})
	return err
}

// observeLease records a renewal as the watch sees it, on its own clock, as peapod's observer does.
func (w *watcher) observeLease(obj any) {
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok || lease.Spec.RenewTime == nil {
		return
	}
	now := time.Now()
	node := lease.Name
	w.mu.Lock()
	defer w.mu.Unlock()
	if lease.Spec.RenewTime.Time.Equal(w.renew[node]) {
		return
	}
	w.renew[node], w.heard[node] = lease.Spec.RenewTime.Time, now
	delete(w.noted, "unheard/"+node)
	if w.silent[node] && now.Sub(w.silencedAt[node]) > renewalGrace {
		w.note("renewed/"+node, "round %d (%s): node %s renewed its Lease %.1fs after it was silenced: it was not silent",
			w.round.number, w.round.kind, node, now.Sub(w.silencedAt[node]).Seconds())
	}
}

// checkSilences notes, every half second, a node that no round silenced but that has not renewed its Lease for
// longer than nodeFailure.after while another node did: a fault of the machine the campaign runs on, which
// peapod may rightly act on. Outages of kube-apiserver or etcd stop every renewal and are left out, as is a
// watch that lags after one (no node heard).
func (w *watcher) checkSilences(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		w.mu.Lock()
		if k := w.round.kind; k != faultAPIServer && k != faultEtcd && w.anyHeard(now) {
			for node, heard := range w.heard {
				if !w.silent[node] && now.Sub(heard) > w.after {
					w.note("unheard/"+node, "round %d (%s): node %s, not silenced, renewed no Lease for %s (the machine "+
						"running the campaign is overloaded?)", w.round.number, w.round.kind, node, w.after)
				}
			}
		}
		w.mu.Unlock()
	}
}

// anyHeard says some node renewed its Lease within nodeFailure.after; the caller holds w.mu.
func (w *watcher) anyHeard(now time.Time) bool {
	for _, heard := range w.heard {
		if now.Sub(heard) <= w.after {
			return true
		}
	}
	return false
}
