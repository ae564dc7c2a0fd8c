package status

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestVolumeProblems(t *testing.T) {
	pod := func(node string, ready bool) *corev1.Pod {
		w := pt.MakeMemberPod("web", 1, "r")
		if ready {
			w = w.Ready(now)
		}
		p := w.Obj()
		p.Spec.NodeName = node
		p.Status.Phase = corev1.PodPending
		if ready {
			p.Status.Phase = corev1.PodRunning
		}
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-1"}}})
		return p
	}
	claim := func(phase corev1.PersistentVolumeClaimPhase) map[string]*corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-web-1"}, Status: corev1.PersistentVolumeClaimStatus{Phase: phase}}
		if phase == corev1.ClaimBound {
			c.Spec.VolumeName = "pv-1"
		}
		return map[string]*corev1.PersistentVolumeClaim{c.Name: c}
	}
	attachment := func(node string, attached bool) storagev1.VolumeAttachment {
		return storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{NodeName: node,
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")}}, Status: storagev1.VolumeAttachmentStatus{Attached: attached}}
	}
	cases := map[string]struct {
		pod         *corev1.Pod
		claims      map[string]*corev1.PersistentVolumeClaim
		attachments []storagev1.VolumeAttachment
		want        string // a part of the one message; empty: no problem
	}{
		"scheduled, the claim not bound yet":                               {pod("b", false), claim(corev1.ClaimPending), nil, "claim data-web-1 is not bound yet"},
		"not scheduled: the scheduler's word says it (WaitingForCapacity)": {pod("", false), claim(corev1.ClaimPending), nil, ""},
		"the volume still attached to the old node": {pod("b", false), claim(corev1.ClaimBound),
			[]storagev1.VolumeAttachment{attachment("a", true)}, "still attached to node a"},
		"being attached to the Pod's node": {pod("b", false), claim(corev1.ClaimBound),
			[]storagev1.VolumeAttachment{attachment("b", false)}, "is being attached to node b"},
		"no attachment yet":                {pod("b", false), claim(corev1.ClaimBound), nil, "is not attached to node b yet"},
		"attached where it runs: no wait":  {pod("b", false), claim(corev1.ClaimBound), []storagev1.VolumeAttachment{attachment("b", true)}, ""},
		"a Ready member waits for nothing": {pod("b", true), claim(corev1.ClaimBound), nil, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			problems := VolumeProblems(VolumeWaits([]*corev1.Pod{tc.pod}, tc.claims, tc.attachments))
			if tc.want == "" {
				if len(problems) != 0 {
					t.Fatalf("problems %v, want none", problems)
				}
				return
			}
			if len(problems) != 1 || problems[0].Reason != ReasonWaitingForVolume || !strings.Contains(problems[0].Message, tc.want) ||
				!strings.Contains(problems[0].Message, "web-1") {
				t.Fatalf("problems %v, want one WaitingForVolume naming web-1 and saying %q", problems, tc.want)
			}
		})
	}
}
