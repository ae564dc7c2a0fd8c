package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/cli-runtime/pkg/printers"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// claimsView is what `status` shows of a group's claims: the claims, and the VolumeAttachments of their volumes
// (nil when the user may not read them: cluster-scoped).
type claimsView struct {
	Claims      []*corev1.PersistentVolumeClaim
	Attachments []storagev1.VolumeAttachment
	// AttachmentsUnknown says the VolumeAttachments could not be read.
	AttachmentsUnknown bool
}

// writeClaims prints one row per claim of the group: its member, phase, bound volume, size, and the node its
// volume is attached to (or attaching to, or detaching from).
func writeClaims(w io.Writer, v claimsView) error {
	if len(v.Claims) == 0 {
		return nil
	}
	claims := slices.Clone(v.Claims)
	slices.SortFunc(claims, func(a, b *corev1.PersistentVolumeClaim) int { return cmp.Compare(a.Name, b.Name) })
	var table strings.Builder
	table.WriteString("CLAIM\tMEMBER\tSTATUS\tVOLUME\tCAPACITY\tATTACHED TO\n")
	for _, c := range claims {
		member := none
		if ordinal, ok := desired.OrdinalOf(c.Labels); ok {
			member = desired.MemberName(c.Labels[peapodv1alpha1.GroupLabel], ordinal)
		}
		capacity := none
		if q, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
			capacity = q.String()
		}
		status := cmp.Or(string(c.Status.Phase), string(corev1.ClaimPending))
		if c.DeletionTimestamp != nil {
			status = "Terminating"
		}
		table.WriteString(strings.Join([]string{c.Name, member, status, cmp.Or(c.Spec.VolumeName, none), capacity,
			attachedTo(c.Spec.VolumeName, v)}, "\t") + "\n")
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	tw := printers.GetNewTabWriter(w)
	if _, err := io.WriteString(tw, table.String()); err != nil {
		return err
	}
	return tw.Flush()
}

// attachedTo says where a volume is attached, from its VolumeAttachments.
func attachedTo(volume string, v claimsView) string {
	switch {
	case volume == "":
		return none
	case v.AttachmentsUnknown:
		return "? (no access to volumeattachments)"
	}
	var parts []string
	for _, va := range v.Attachments {
		if va.Spec.Source.PersistentVolumeName == nil || *va.Spec.Source.PersistentVolumeName != volume {
			continue
		}
		switch {
		case va.DeletionTimestamp != nil:
			parts = append(parts, fmt.Sprintf("%s (detaching)", va.Spec.NodeName))
		case va.Status.Attached:
			parts = append(parts, va.Spec.NodeName)
		default:
			parts = append(parts, fmt.Sprintf("%s (attaching)", va.Spec.NodeName))
		}
	}
	slices.Sort(parts)
	return cmp.Or(strings.Join(parts, ", "), none)
}
