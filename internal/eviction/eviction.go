// Package eviction is peapod's side of Kubernetes' EvictionRequest API (lifecycle.k8s.io/v1alpha1, alpha in 1.37):
// which Evictions hand a member's Pod to peapod, and what peapod reports in them while it moves the member. Pure:
// the controller reads the Evictions and writes the reports.
//
// An EvictionRequest says someone (a descheduler, an autoscaler, an operator) wants a Pod gone; Kubernetes'
// evictionrequest controller turns it into one Eviction per Pod and hands it to the Pod's responders
// (spec.evictionResponders) one at a time, highest priority first. peapod is a member Pod's first responder: it
// moves the member make-before-break, as for a drain, and reports progress in status.responders until the old Pod
// is gone. A responder silent for 20 minutes loses its turn, and the last one, Kubernetes' imperative evictor,
// evicts through the Pod's budget.
package eviction

import (
	"time"

	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// The pace of peapod's reports: the API asks responders not to heartbeat more often than every 20 s, and passes
// the Eviction on after 20 minutes without one.
const (
	// MinReportInterval is the least time between two reports that only change the message.
	MinReportInterval = 20 * time.Second
	// HeartbeatInterval is how often a report is renewed while nothing changes.
	HeartbeatInterval = time.Minute
)

// MaxMessage is the most characters status.responders[].message holds.
const MaxMessage = 4000

// Asks says the Eviction is peapod's to act on now: peapod is its active responder and it is not over (the target
// evicted, or the eviction failed or was cancelled).
func Asks(ev *lifecyclev1alpha1.Eviction) bool {
	if over(ev) {
		return false
	}
	for _, r := range ev.Status.TargetResponders {
		if r.Name == peapodv1alpha1.EvictionResponder {
			return r.State == lifecyclev1alpha1.ResponderStateActive
		}
	}
	return false
}

func over(ev *lifecyclev1alpha1.Eviction) bool {
	return meta.IsStatusConditionTrue(ev.Status.Conditions, string(lifecyclev1alpha1.EvictionConditionTargetEvicted)) ||
		meta.IsStatusConditionTrue(ev.Status.Conditions, string(lifecyclev1alpha1.EvictionConditionFailed))
}

// Target is the UID of the Pod an Eviction is of, empty for other targets.
func Target(ev *lifecyclev1alpha1.Eviction) types.UID {
	if ev.Spec.Target.Pod == nil {
		return ""
	}
	return ev.Spec.Target.Pod.UID
}

// AskedFor maps the Pods that Evictions hand to peapod now (Asks) to those Evictions.
func AskedFor(evictions []*lifecyclev1alpha1.Eviction) map[types.UID]*lifecyclev1alpha1.Eviction {
	asked := map[types.UID]*lifecyclev1alpha1.Eviction{}
	for _, ev := range evictions {
		if uid := Target(ev); uid != "" && Asks(ev) {
			asked[uid] = ev
		}
	}
	return asked
}

// Progress is what peapod has to say of a move it makes for an Eviction.
type Progress struct {
	Message string
	// Done: the move is over and the old Pod gone, or peapod gives up its turn (the move failed): the Eviction
	// passes to its next responder.
	Done bool
}

// Report is peapod's entry of the Eviction's status.responders after this progress, and whether it must be
// written now: always when done, else when there is none yet, when the message changed and the last report is
// MinReportInterval old, or when it is HeartbeatInterval old. Nil when the Eviction is not peapod's to report in
// (Asks).
func Report(ev *lifecyclev1alpha1.Eviction, p Progress, now time.Time) (next *lifecyclev1alpha1.ResponderStatus, write bool) {
	if !Asks(ev) {
		return nil, false
	}
	var last lifecyclev1alpha1.ResponderStatus
	for _, r := range ev.Status.Responders {
		if r.Name == peapodv1alpha1.EvictionResponder {
			last = r
		}
	}
	if last.CompletionTime != nil {
		return nil, false
	}
	message := p.Message
	if len(message) > MaxMessage {
		message = message[:MaxMessage]
	}
	next = &lifecyclev1alpha1.ResponderStatus{Name: peapodv1alpha1.EvictionResponder, Message: ptr.To(message)}
	next.HeartbeatTime = ptr.To(metav1.NewTime(now))
	if p.Done {
		next.CompletionTime = next.HeartbeatTime
		return next, true
	}
	if last.HeartbeatTime == nil {
		return next, true
	}
	age := now.Sub(last.HeartbeatTime.Time)
	changed := last.Message == nil || *last.Message != message
	return next, age >= HeartbeatInterval || (changed && age >= MinReportInterval)
}

// NextReport is how soon a report may be due on the Eviction while nothing else happens: zero when none is.
func NextReport(ev *lifecyclev1alpha1.Eviction, now time.Time) time.Duration {
	if !Asks(ev) {
		return 0
	}
	for _, r := range ev.Status.Responders {
		if r.Name == peapodv1alpha1.EvictionResponder && r.HeartbeatTime != nil {
			return max(r.HeartbeatTime.Add(MinReportInterval).Sub(now), time.Second)
		}
	}
	return time.Second
}
