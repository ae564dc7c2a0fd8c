package controllers

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/peapod-io/peapod/internal/nodehealth"
)

// leaseReader answers a live read of a node's Lease, after whatever happens while the read is in flight.
type leaseReader struct {
	client.Reader
	lease    coordinationv1.Lease
	inFlight func()
}

func (r leaseReader) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	r.inFlight()
	r.lease.DeepCopyInto(obj.(*coordinationv1.Lease))
	return nil
}

// TestConfirmFailureRejectsAReadThatOutlivedTheView: the live read of a silent node's Lease before its members
// are deleted can wait out an etcd outage; the view broke meanwhile (no Lease changed anywhere), and the read
// then answers with the Lease as it was, unrenewed because nothing could be written. CI's etcd SIGKILL spec
// deleted a healthy member so, a second after etcd came back.
func TestConfirmFailureRejectsAReadThatOutlivedTheView(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	renewed := metav1.NewMicroTime(start)
	lease := coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-3", Namespace: corev1.NamespaceNodeLease},
		Spec:       coordinationv1.LeaseSpec{RenewTime: &renewed, LeaseDurationSeconds: ptr.To(int32(40))},
	}
	for _, tc := range []struct {
		name      string
		renew     time.Time // the renewTime the read answers
		inFlight  func(o *nodehealth.Observer)
		confirmed bool
	}{
		{name: "the Lease as the observer saw it, the view unbroken: silent indeed", renew: start, confirmed: true},
		{name: "a renewal the cache had not shown: it lives", renew: start.Add(time.Second)},
		{name: "the view broke while the read waited: judge again", renew: start,
			inFlight: func(o *nodehealth.Observer) { o.Blind() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktesting.NewFakePassiveClock(start)
			observer := nodehealth.NewObserver(start)
			observer.Lease(&lease, start)
			judged := start.Add(25 * time.Second)
			clock.SetTime(judged)
			verdict := nodehealth.Verdict{Replace: true, Unhealthy: true, Reason: nodehealth.ReasonLeaseExpired,
				Since: start, Window: observer.Window()}
			answer := *lease.DeepCopy()
			answer.Spec.RenewTime = &metav1.MicroTime{Time: tc.renew}
			r := &PodGroupReconciler{Observer: observer, Clock: clock, APIReader: leaseReader{lease: answer, inFlight: func() {
				clock.SetTime(judged.Add(10 * time.Second)) // the read waited
				if tc.inFlight != nil {
					tc.inFlight(observer)
				}
			}}}
			if got := r.confirmFailure(context.Background(), "node-3", verdict, judged); got != tc.confirmed {
				t.Errorf("confirmFailure = %v, want %v", got, tc.confirmed)
			}
		})
	}
}
