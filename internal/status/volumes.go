package status

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
)

// ReasonWaitingForVolume: a member's Pod waits for one of its claims: to be bound, or its volume to be detached
// from another node and attached to the Pod's.
const ReasonWaitingForVolume = "WaitingForVolume"

// VolumeWait is what a member's Pod waits for, when it waits for a volume.
type VolumeWait struct {
	Pod   *corev1.Pod
	Claim string
	// Volume is the claim's bound PersistentVolume, empty while it is not bound.
	Volume string
	// AttachedTo are the other nodes a VolumeAttachment of the volume is still on; Attaching says one to the
	// Pod's node exists and is not attached yet.
	AttachedTo []string
	Attaching  bool
}

// NeedsAttachments says a member's Pod waits on its node with claims bound: only then are VolumeAttachments worth
// reading, to say which way it waits.
func NeedsAttachments(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && pod.DeletionTimestamp == nil && !plan.Ready(pod) && pod.Status.Phase == corev1.PodPending
}

// VolumeWaits finds the member Pods that wait for a volume: a claim not bound yet (Pending: being provisioned, or
// waiting for its first Pod to be scheduled), or, once the Pod is on a node and not running yet, a bound volume
// still attached elsewhere or not attached there yet. claims are the group's, by name; attachments may be nil
// when none were read.
func VolumeWaits(members []*corev1.Pod, claims map[string]*corev1.PersistentVolumeClaim,
	attachments []storagev1.VolumeAttachment) []VolumeWait {
	var waits []VolumeWait
	for _, pod := range members {
		if pod.DeletionTimestamp != nil || plan.Ready(pod) {
			continue
		}
		for _, name := range desired.PodClaims(pod) {
			claim := claims[name]
			switch {
			case claim == nil:
				continue
			case claim.Status.Phase != corev1.ClaimBound:
				if pod.Spec.NodeName != "" {
					waits = append(waits, VolumeWait{Pod: pod, Claim: name})
				}
				continue
			case !NeedsAttachments(pod):
				continue
			}
			wait := VolumeWait{Pod: pod, Claim: name, Volume: claim.Spec.VolumeName}
			attached := false
			for _, va := range attachments {
				if va.Spec.Source.PersistentVolumeName == nil || *va.Spec.Source.PersistentVolumeName != wait.Volume {
					continue
				}
				switch {
				case va.Spec.NodeName != pod.Spec.NodeName:
					wait.AttachedTo = append(wait.AttachedTo, va.Spec.NodeName)
				case va.Status.Attached && va.DeletionTimestamp == nil:
					attached = true
				default:
					wait.Attaching = true
				}
			}
			if !attached {
				slices.Sort(wait.AttachedTo)
				waits = append(waits, wait)
			}
		}
	}
	return waits
}

// VolumeProblems says, for the Degraded condition, which members wait for which volume, and why.
func VolumeProblems(waits []VolumeWait) []Problem {
	problems := make([]Problem, 0, len(waits))
	for _, w := range waits {
		var why string
		switch {
		case w.Volume == "":
			why = fmt.Sprintf("claim %s is not bound yet (its volume is being provisioned)", w.Claim)
		case len(w.AttachedTo) > 0:
			why = fmt.Sprintf("volume %s (claim %s) is still attached to node %s: it is detached once the Pod there is gone and "+
				"unmounted, or once that node is fenced", w.Volume, w.Claim, strings.Join(w.AttachedTo, ", "))
		case w.Attaching:
			why = fmt.Sprintf("volume %s (claim %s) is being attached to node %s", w.Volume, w.Claim, w.Pod.Spec.NodeName)
		default:
			why = fmt.Sprintf("volume %s (claim %s) is not attached to node %s yet", w.Volume, w.Claim, w.Pod.Spec.NodeName)
		}
		problems = append(problems, Problem{Reason: ReasonWaitingForVolume, Message: fmt.Sprintf("%s waits: %s", w.Pod.Name, why)})
	}
	return problems
}
