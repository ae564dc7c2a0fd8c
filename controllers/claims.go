package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/internal/status"
)

// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=storage.k8s.io,resources=volumeattachments,verbs=list
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get

// ensureClaims makes sure member ordinal's claims exist before a Pod of it is created, so the Pod never waits on
// a claim nobody makes. A claim of that name is used when it is the group's: controlled by it, or with the group's
// label and no controller (kept from an earlier group of the same name, or one of the group's retained claims).
// Someone else's is never mounted: no Pod is created, and the group says why (NameConflict).
func (w *reconcileWork) ensureClaims(ctx context.Context, ordinal int) (ready bool, err error) {
	ready = true
	for _, claim := range desired.MemberClaims(w.group, ordinal) {
		key := client.ObjectKeyFromObject(claim)
		var existing corev1.PersistentVolumeClaim
		err := w.r.Get(ctx, key, &existing)
		if apierrors.IsNotFound(err) {
			// The cache holds the group's claims only: one of that name someone else made is looked up past it.
			err = w.r.APIReader.Get(ctx, key, &existing)
		}
		switch {
		case apierrors.IsNotFound(err):
			if err := w.r.Create(ctx, claim); err != nil && !apierrors.IsAlreadyExists(err) {
				return false, fmt.Errorf("creating claim %s of member %d: %w", claim.Name, ordinal, err)
			}
		case err != nil:
			return false, fmt.Errorf("reading claim %s: %w", claim.Name, err)
		case desired.ClaimOf(&existing, w.group) == desired.Foreign:
			w.addProblems(status.Problem{Reason: status.ReasonNameConflict, Message: fmt.Sprintf(
				"%s: member %s is not created: its Pods would mount it (label a claim %s=%s to hand it to the group)",
				desired.NameConflict("PersistentVolumeClaim", &existing), desired.MemberName(w.group.Name, ordinal),
				peapodv1alpha1.GroupLabel, w.group.Name)})
			ready = false
		}
	}
	return ready, nil
}

// volumeTopology is where member ordinal's bound volumes may be used from: their PersistentVolumes' node
// affinity, read live (PersistentVolumes are not cached) when a Pod of the member is created.
func (w *reconcileWork) volumeTopology(ctx context.Context, ordinal int) ([]*corev1.NodeSelector, error) {
	var out []*corev1.NodeSelector
	for _, claim := range desired.MemberClaims(w.group, ordinal) {
		var bound corev1.PersistentVolumeClaim
		if err := w.r.Get(ctx, client.ObjectKeyFromObject(claim), &bound); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("reading claim %s: %w", claim.Name, err)
		}
		if bound.Spec.VolumeName == "" {
			continue // the scheduler picks the volume's place with the Pod's
		}
		var pv corev1.PersistentVolume
		if err := w.r.APIReader.Get(ctx, client.ObjectKey{Name: bound.Spec.VolumeName}, &pv); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("reading volume %s of claim %s: %w", bound.Spec.VolumeName, claim.Name, err)
		}
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
			out = append(out, pv.Spec.NodeAffinity.Required)
		}
	}
	return out, nil
}

// syncClaims keeps the group's existing claims as its retention policy says: the group as their controller when
// they go with it (whenDeleted: Delete), no owner when they are kept; and, with whenScaled: Delete, the claims of
// ordinals beyond the replicas deleted once no Pod of that ordinal is left.
func (w *reconcileWork) syncClaims(ctx context.Context, pods []*corev1.Pod) error {
	if len(w.group.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	var list corev1.PersistentVolumeClaimList
	ours := client.MatchingLabels(desired.SelectorLabels(w.group.Name))
	if err := w.r.List(ctx, &list, client.InNamespace(w.group.Namespace), ours); err != nil {
		return fmt.Errorf("listing the claims of %s: %w", w.group.Name, err)
	}
	whenDeleted, whenScaled := desired.ClaimRetention(w.group)
	occupied := map[int]bool{}
	for _, pod := range pods {
		if ordinal, ok := desired.OrdinalOf(pod.Labels); ok {
			occupied[ordinal] = true
		}
	}
	if err := w.reportVolumeWaits(ctx, pods, list.Items); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		claim := &list.Items[i]
		ordinal, ok := desired.OrdinalOf(claim.Labels)
		if !ok || claim.DeletionTimestamp != nil || desired.ClaimOf(claim, w.group) == desired.Foreign {
			continue
		}
		if whenScaled == peapodv1alpha1.DeleteClaims && ordinal >= desired.Replicas(w.group) && !occupied[ordinal] {
			precondition := client.Preconditions{UID: ptr.To(claim.UID), ResourceVersion: ptr.To(claim.ResourceVersion)}
			if err := w.r.Delete(ctx, claim, precondition); client.IgnoreNotFound(err) != nil {
				errs = append(errs, fmt.Errorf("deleting claim %s of a removed member: %w", claim.Name, err))
			}
			continue
		}
		controlled := metav1.IsControlledBy(claim, w.group)
		if wanted := whenDeleted == peapodv1alpha1.DeleteClaims; wanted != controlled {
			if err := w.setClaimOwner(ctx, claim, wanted); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// reportVolumeWaits says, on the Degraded condition, which members wait for a volume and why. VolumeAttachments
// are not watched: they are read, live, only when a member waits on its node with its claims bound.
func (w *reconcileWork) reportVolumeWaits(ctx context.Context, pods []*corev1.Pod, claims []corev1.PersistentVolumeClaim) error {
	byName := make(map[string]*corev1.PersistentVolumeClaim, len(claims))
	for i := range claims {
		if desired.ClaimOf(&claims[i], w.group) != desired.Foreign {
			byName[claims[i].Name] = &claims[i]
		}
	}
	byOrdinal, _ := plan.Members(pods)
	members := make([]*corev1.Pod, 0, len(byOrdinal))
	for ordinal, pod := range byOrdinal {
		if ordinal < desired.Replicas(w.group) {
			members = append(members, pod)
		}
	}
	var attachments storagev1.VolumeAttachmentList
	if slices.ContainsFunc(members, status.NeedsAttachments) {
		if err := w.r.APIReader.List(ctx, &attachments); err != nil {
			return fmt.Errorf("listing VolumeAttachments: %w", err)
		}
	}
	w.addProblems(status.VolumeProblems(status.VolumeWaits(members, byName, attachments.Items))...)
	return nil
}

// setClaimOwner gives a claim the group as its controller, or takes it away, over the claim as it was read.
func (w *reconcileWork) setClaimOwner(ctx context.Context, claim *corev1.PersistentVolumeClaim, owned bool) error {
	refs := make([]metav1.OwnerReference, 0, len(claim.OwnerReferences)+1)
	for _, ref := range claim.OwnerReferences {
		if ref.UID != w.group.UID {
			refs = append(refs, ref)
		}
	}
	if owned {
		refs = append(refs, desired.ControllerRef(w.group))
	}
	patch := client.MergeFromWithOptions(claim.DeepCopy(), client.MergeFromWithOptimisticLock{})
	claim.OwnerReferences = refs
	if err := w.r.Patch(ctx, claim, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("setting the owner of claim %s: %w", claim.Name, err)
	}
	return nil
}
