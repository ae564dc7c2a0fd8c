package nodehealth

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func nodeLease(name string, renewed time.Time) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &metav1.MicroTime{Time: renewed}},
	}
}

// step is one thing the observer sees, at a moment relative to start.
type step struct {
	at    time.Duration
	lease *coordinationv1.Lease // a Lease as the cache shows it
	blind bool                  // a live read failed
	sees  bool                  // a live read succeeded
	gap   bool                  // the monitor's gap check
}

func TestObserverSilence(t *testing.T) {
	start := now
	clockBehind := func(d time.Duration) time.Time { return start.Add(d - 15*time.Second) }
	cases := map[string]struct {
		steps      []step
		at         time.Duration
		wantSilent bool
		wantBlind  bool
	}{
		"a node whose clock is 15 s behind but renews every 10 s is never silent": {
			steps: []step{{at: 0, lease: nodeLease("a", clockBehind(0))}, {at: 10 * time.Second, lease: nodeLease("a", clockBehind(10*time.Second))},
				{at: 20 * time.Second, lease: nodeLease("a", clockBehind(20*time.Second))}},
			at: 29 * time.Second,
		},
		"a node that stopped renewing is silent 15 s after it was last heard": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 10 * time.Second, lease: nodeLease("a", start.Add(10*time.Second))}},
			at:    26 * time.Second, wantSilent: true,
		},
		"the same Lease seen again (a relist) is not a heartbeat": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 12 * time.Second, lease: nodeLease("a", start)}},
			at:    16 * time.Second, wantSilent: true,
		},
		"a node dead long before the manager started gets a full window from the start": {
			steps: []step{{at: 0, lease: nodeLease("a", start.Add(-time.Hour))}},
			at:    14 * time.Second,
		},
		"no Lease changed for a renew interval and more: the view stalled, nobody is silent": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 0, lease: nodeLease("b", start)}, {at: 13 * time.Second, gap: true}},
			at:    40 * time.Second, wantBlind: true,
		},
		"after a stall every node gets a full window from the first change seen again": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 0, lease: nodeLease("b", start)}, {at: 13 * time.Second, gap: true},
				{at: 30 * time.Second, lease: nodeLease("b", start.Add(30*time.Second))}},
			at: 44 * time.Second,
		},
		"... and a node that stays silent after that is silent again": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 0, lease: nodeLease("b", start)}, {at: 13 * time.Second, gap: true},
				{at: 30 * time.Second, lease: nodeLease("b", start.Add(30*time.Second))}, {at: 40 * time.Second, lease: nodeLease("b", start.Add(40*time.Second))}},
			at: 46 * time.Second, wantSilent: true,
		},
		"a failed live read blinds until a good one, which starts the window again": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 20 * time.Second, blind: true}, {at: 25 * time.Second, sees: true}},
			at:    35 * time.Second,
		},
		"the gap check does not fire while Leases keep changing": {
			steps: []step{{at: 0, lease: nodeLease("a", start)}, {at: 0, lease: nodeLease("b", start)},
				{at: 10 * time.Second, lease: nodeLease("b", start.Add(10*time.Second))}, {at: 20 * time.Second, lease: nodeLease("b", start.Add(20*time.Second))},
				{at: 21 * time.Second, gap: true}},
			at: 21 * time.Second, wantSilent: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := NewObserver(start)
			for _, s := range tc.steps {
				at := start.Add(s.at)
				switch {
				case s.lease != nil:
					o.Lease(s.lease, at)
				case s.blind:
					o.Blind()
				case s.sees:
					o.Sees(at)
				case s.gap:
					o.CheckGap(at)
				}
			}
			ev := o.Evidence("a")
			if got := ev.Silent(start.Add(tc.at)); got != tc.wantSilent {
				t.Errorf("Silent() = %v, want %v (evidence %+v)", got, tc.wantSilent, ev)
			}
			if ev.Blind != tc.wantBlind {
				t.Errorf("Blind = %v, want %v", ev.Blind, tc.wantBlind)
			}
		})
	}
}

func TestObserverLiveRead(t *testing.T) {
	o := NewObserver(now)
	o.Lease(nodeLease("a", now), now)
	if o.LeaseRenewedSince(nodeLease("a", now), now.Add(20*time.Second)) {
		t.Errorf("a live read of the same renewal counted as a new one")
	}
	if !o.LeaseRenewedSince(nodeLease("a", now.Add(10*time.Second)), now.Add(20*time.Second)) {
		t.Errorf("a live read of a newer renewal was not noticed")
	}
	if o.Evidence("a").Silent(now.Add(30 * time.Second)) {
		t.Errorf("a node heard through a live read 10 s ago is silent")
	}
}
