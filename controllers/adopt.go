package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// Adoption, as a ReplicaSet adopts Pods (Kubernetes pkg/controller/controller_ref_manager.go, ClaimPods): after
// `kubectl delete pgroup web --cascade=orphan` the members and children keep the group's label and lose their
// controller; a group created again under that name takes them back instead of waiting forever for names they
// hold. Only objects with no controller and the group's label are taken (desired.ClaimOf); an object something
// else controls is never touched.

// canAdopt re-reads the group past the cache just before adopting: a group deleted meanwhile, or deleted and
// created again (another UID), must not take objects on the word of a stale cache.
func (r *PodGroupReconciler) canAdopt(ctx context.Context, g *peapodv1alpha1.PodGroup) error {
	var fresh peapodv1alpha1.PodGroup
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(g), &fresh); err != nil {
		return fmt.Errorf("confirming %s before adopting: %w", klog.KObj(g), err)
	}
	if fresh.UID != g.UID {
		return fmt.Errorf("%s is gone (the group of that name now has UID %s, not %s): not adopting", klog.KObj(g), fresh.UID, g.UID)
	}
	if fresh.DeletionTimestamp != nil {
		return fmt.Errorf("%s is being deleted: not adopting", klog.KObj(g))
	}
	return nil
}

// adoptPods makes the group the controller of orphaned Pods with its label, and returns those it adopted, as the
// API server returned them. One event names them all.
func (r *PodGroupReconciler) adoptPods(ctx context.Context, g *peapodv1alpha1.PodGroup, orphans []*corev1.Pod) ([]*corev1.Pod, error) {
	if len(orphans) == 0 {
		return nil, nil
	}
	if err := r.canAdopt(ctx, g); err != nil {
		return nil, err
	}
	adopted := make([]*corev1.Pod, 0, len(orphans))
	names := make([]string, 0, len(orphans))
	for _, pod := range orphans {
		if err := r.adopt(ctx, g, pod); err != nil {
			r.Recorder.Eventf(g, pod, corev1.EventTypeWarning, "AdoptFailed", "Adopt", "Adopting Pod %s: %v", pod.Name, err)
			return adopted, fmt.Errorf("adopting Pod %s: %w", klog.KObj(pod), err)
		}
		adopted = append(adopted, pod)
		names = append(names, pod.Name)
	}
	r.Recorder.Eventf(g, nil, corev1.EventTypeNormal, "MembersAdopted", "Adopt", "%s",
		membersNote(fmt.Sprintf("Adopted %d orphaned Pods: ", len(names)), g.Name, names))
	return adopted, nil
}

// adopt adds the group's controller reference to an orphan's owner references with a JSON merge patch that
// carries the object's UID and resourceVersion: the object must be the one judged, unchanged since, so an owner
// or controller set meanwhile is never overwritten (the patch fails with a conflict and the next reconcile judges
// again). A merge patch leaves untouched fields byte for byte, as a ControllerRevision's immutable data must be (a
// strategic merge patch re-encodes it, and the API server refuses). obj is updated to what the server returned.
func (r *PodGroupReconciler) adopt(ctx context.Context, g *peapodv1alpha1.PodGroup, obj client.Object) error {
	owners := append(slices.Clone(obj.GetOwnerReferences()), desired.ControllerRef(g))
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": owners,
		"uid":             obj.GetUID(),
		"resourceVersion": obj.GetResourceVersion(),
	}})
	if err != nil {
		return err
	}
	return r.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}
