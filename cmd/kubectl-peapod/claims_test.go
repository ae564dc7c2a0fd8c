package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestWriteClaims(t *testing.T) {
	g := pt.MakePodGroup("web", "default").Replicas(3).Claim("data", "1Gi").Obj()
	claim := func(ordinal int, phase corev1.PersistentVolumeClaimPhase, volume string) *corev1.PersistentVolumeClaim {
		c := desired.MemberClaims(g, ordinal)[0]
		c.Status.Phase, c.Spec.VolumeName = phase, volume
		if volume != "" {
			c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
		}
		return c
	}
	attachment := func(volume, node string, attached, detaching bool) storagev1.VolumeAttachment {
		va := storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{NodeName: node,
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(volume)}}, Status: storagev1.VolumeAttachmentStatus{Attached: attached}}
		if detaching {
			va.DeletionTimestamp = ptr.To(metav1.NewTime(now))
		}
		return va
	}
	var out strings.Builder
	err := writeClaims(&out, claimsView{
		Claims: []*corev1.PersistentVolumeClaim{claim(2, corev1.ClaimPending, ""), claim(0, corev1.ClaimBound, "pv-0"), claim(1, corev1.ClaimBound, "pv-1")},
		Attachments: []storagev1.VolumeAttachment{attachment("pv-0", "node-a", true, false), attachment("pv-1", "node-a", true, true),
			attachment("pv-1", "node-b", false, false)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CLAIM        MEMBER   STATUS    VOLUME   CAPACITY   ATTACHED TO",
		"data-web-0   web-0    Bound     pv-0     1Gi        node-a",
		"data-web-1   web-1    Bound     pv-1     1Gi        node-a (detaching), node-b (attaching)",
		"data-web-2   web-2    Pending   -        -          -",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("writeClaims() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	out.Reset()
	if err := writeClaims(&out, claimsView{Claims: []*corev1.PersistentVolumeClaim{claim(0, corev1.ClaimBound, "pv-0")},
		AttachmentsUnknown: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "? (no access to volumeattachments)") {
		t.Errorf("without access to VolumeAttachments: %q", out.String())
	}
}
