package nodehealth

import (
	"cmp"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
)

// defaultLeaseDuration is a node Lease's duration when it does not say (the kubelet's default).
const defaultLeaseDuration = 40 * time.Second

// Observer keeps the evidence about nodes that the manager itself has seen, on its own clock: when each node's
// Lease was last seen to change and since when it has been seen not Ready. The kubelet's timestamps are never
// compared with the manager's clock (a node whose clock is behind would look silent), and time during which the
// manager could not see the cluster does not count as silence: after the manager starts, after a gap in which no
// Lease changed at all (its watch broke, or etcd stalled), after a live read failed, or after a cluster-wide pause
// (too many nodes unhealthy at once) ended, every node gets a full window again before it can be judged silent. This is what the node
// lifecycle controller does with its probeTimestamp and its full-disruption reset.
type Observer struct {
	mu    sync.Mutex
	nodes map[string]*observed
	// watchingSince is when the manager's current unbroken view of the cluster began.
	watchingSince time.Time
	// lastLeaseEvent is when any Lease was last seen to change.
	lastLeaseEvent time.Time
	// blind is set when the view is known broken; the next Lease change or good live read ends it.
	blind bool
	// paused says the last disruption assessment paused failovers cluster-wide (FollowDisruption).
	paused bool
}

type observed struct {
	renew         time.Time
	heardAt       time.Time
	leaseDuration time.Duration
	hasLease      bool
	notReadyAt    time.Time
	known         bool
}

// NewObserver starts observing at now: nothing was seen before.
func NewObserver(now time.Time) *Observer {
	return &Observer{nodes: map[string]*observed{}, watchingSince: now, lastLeaseEvent: now}
}

func (o *Observer) node(name string) *observed {
	n := o.nodes[name]
	if n == nil {
		n = &observed{}
		o.nodes[name] = n
	}
	return n
}

// Lease records a node Lease as the cache shows it at now. Only a changed renewTime is a heartbeat.
func (o *Observer) Lease(lease *coordinationv1.Lease, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.node(lease.Name)
	n.hasLease = true
	n.leaseDuration = defaultLeaseDuration
	if d := lease.Spec.LeaseDurationSeconds; d != nil && *d > 0 {
		n.leaseDuration = time.Duration(*d) * time.Second
	}
	var renew time.Time
	if lease.Spec.RenewTime != nil {
		renew = lease.Spec.RenewTime.Time
	}
	if n.heardAt.IsZero() || !renew.Equal(n.renew) {
		n.renew, n.heardAt = renew, now
		o.lastLeaseEvent = now
		o.sees(now)
	}
}

// LeaseRenewedSince says whether a Lease read live shows a renewal the observer has not seen; if so it is
// recorded as heard at now.
func (o *Observer) LeaseRenewedSince(lease *coordinationv1.Lease, now time.Time) bool {
	o.mu.Lock()
	n, ok := o.nodes[lease.Name]
	changed := !ok || lease.Spec.RenewTime == nil || !lease.Spec.RenewTime.Time.Equal(n.renew)
	o.mu.Unlock()
	if changed {
		o.Lease(lease, now)
	}
	return changed
}

// Node records a Node as the cache shows it at now: its Ready condition, timed by when it was seen to change.
func (o *Observer) Node(node *corev1.Node, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.node(node.Name)
	n.known = true
	ready := readyCondition(node)
	switch {
	case ready != nil && ready.Status == corev1.ConditionTrue:
		n.notReadyAt = time.Time{}
	case n.notReadyAt.IsZero():
		n.notReadyAt = now
	}
}

// Known says whether the observer has ever seen the Node: a Pod bound to a node that never existed (a
// template's nodeName) is not a failed node.
func (o *Observer) Known(name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, ok := o.nodes[name]
	return ok && n.known
}

// Blind records that the manager could not see the cluster at now (a live read failed).
func (o *Observer) Blind() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.blind = true
}

// Sees records a successful live read: a blind observer starts its window again.
func (o *Observer) Sees(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sees(now)
}

func (o *Observer) sees(now time.Time) {
	if o.blind {
		o.blind = false
		o.watchingSince = now
	}
}

// FollowDisruption records whether an assessment paused failovers cluster-wide, and when a pause ends begins a
// new window for every node at now: the silence during the pause was likelier the control plane's or the
// network's than the nodes', and nodes come back over seconds, not at once. Every assessment calls it, a
// reconcile's as well as the lease monitor's, so whichever sees the end first restarts the window before any
// verdict acts on the old one.
func (o *Observer) FollowDisruption(pausedEverywhere bool, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.paused && !pausedEverywhere {
		o.watchingSince = now
	}
	o.paused = pausedEverywhere
}

// Window is when the current unbroken view began: a verdict judged on the evidence of one window must not be
// acted on in the next (JudgeGroup, and the check before a failover's delete).
func (o *Observer) Window() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.watchingSince
}

// CheckGap marks the observer blind when no Lease changed at all for longer than a renew interval plus slack
// while nodes with Leases exist: kubelets renew every quarter of the Lease duration, so a cluster-wide silence
// that long means the manager's view stalled (or every node died, which is treated alike).
func (o *Observer) CheckGap(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	interval := time.Duration(0)
	for _, n := range o.nodes {
		if n.hasLease && (interval == 0 || n.leaseDuration/4 < interval) {
			interval = n.leaseDuration / 4
		}
	}
	if interval > 0 && now.Sub(o.lastLeaseEvent) > interval+gapSlack {
		o.blind = true
	}
}

// gapSlack is how late past its renew interval the last live node's renewal may come before the observer
// counts itself blind.
const gapSlack = 2 * time.Second

// Evidence is what the observer can tell about one node at a moment.
type Evidence struct {
	// Blind says the manager's view is broken now: nothing may be judged from silence.
	Blind bool
	// HasLease says the node has a Lease the observer has seen.
	HasLease bool
	// HeardAt is when the node was last heard from, on the manager's clock, never earlier than the start of the
	// current unbroken view.
	HeardAt time.Time
	// Renew is the Lease's renewTime last seen (the kubelet's clock), to compare with a live read.
	Renew time.Time
	// LeaseDuration is the Lease's duration.
	LeaseDuration time.Duration
	// NotReadySince is when the Node was first seen not Ready in the current view (zero while Ready).
	NotReadySince time.Time
}

// Evidence returns what is known about a node.
func (o *Observer) Evidence(name string) Evidence {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.nodes[name]
	if n == nil {
		return Evidence{Blind: o.blind, HeardAt: o.watchingSince, LeaseDuration: defaultLeaseDuration}
	}
	ev := Evidence{Blind: o.blind, HasLease: n.hasLease, HeardAt: latest(n.heardAt, o.watchingSince), Renew: n.renew,
		LeaseDuration: cmp.Or(n.leaseDuration, defaultLeaseDuration)}
	if !n.notReadyAt.IsZero() {
		ev.NotReadySince = latest(n.notReadyAt, o.watchingSince)
	}
	return ev
}

// Silent says the node has missed its Lease renewals as the manager observed them: it renews every quarter of
// the Lease duration (10 s of 40 s by default), so one and a half intervals without a renewal is more than
// jitter. A blind observer calls nobody silent.
func (ev Evidence) Silent(now time.Time) bool {
	return !ev.Blind && ev.Quiet(now)
}

// Quiet says the node has not been heard from for one and a half renew intervals, whether or not the observer
// can see: what a blind observer reports (it has heard nothing), never what it judges on.
func (ev Evidence) Quiet(now time.Time) bool {
	return ev.HasLease && now.Sub(ev.HeardAt) > ev.LeaseDuration/4*3/2
}

// IsBlind says the manager's view is known broken now.
func (o *Observer) IsBlind() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.blind
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
