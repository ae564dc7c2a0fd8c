package controllers

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/status"
)

// applyNetworking server-side applies the headless Service, the ClusterIP Service (or deletes it when the group
// no longer declares ports), the PodDisruptionBudget (when drains migrate) and the peer ConfigMaps, with one field
// owner. A child whose name an object the group does not control already has is left alone: the group is Degraded
// (NameConflict) and its other children still reconcile.
func (w *reconcileWork) applyNetworking(ctx context.Context) error {
	g := w.group
	owner := desired.OwnerReference(g)
	var errs []error
	if err := apply(ctx, w, &corev1.Service{}, desired.HeadlessService(g, owner)); err != nil {
		errs = append(errs, fmt.Errorf("applying the headless Service: %w", err))
	}
	if svc := desired.ClusterIPService(g, owner); svc != nil {
		if err := apply(ctx, w, &corev1.Service{}, svc); err != nil {
			errs = append(errs, fmt.Errorf("applying the Service: %w", err))
		}
	} else if err := w.deleteOwned(ctx, &corev1.Service{}, desired.ServiceName(g.Name)); err != nil {
		errs = append(errs, err)
	}
	// The Pods this reconcile created are live too: one Ready before the next reconcile must not let a drain
	// evict a member's only Ready Pod (found by the model test: a cancelled migration's replacement).
	live := w.livePods + len(w.created) + w.replacementsCreated
	if pdb := desired.DisruptionBudget(g, owner, live, w.migrationsRunning); w.migrationsRunning < 0 {
		// The group's migrations are not known this time: a budget without them would let a drain evict a
		// Ready member while another moves.
	} else if pdb != nil {
		if err := apply(ctx, w, &policyv1.PodDisruptionBudget{}, pdb); err != nil {
			errs = append(errs, fmt.Errorf("applying the PodDisruptionBudget: %w", err))
		}
	} else if err := w.deleteOwned(ctx, &policyv1.PodDisruptionBudget{}, desired.DisruptionBudgetName(g.Name)); err != nil {
		errs = append(errs, err)
	}
	if err := w.applyPeers(ctx, owner); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// applyPeers writes the peer list, PeersPerConfigMap members to a ConfigMap: the chunks past the members (the
// group shrank below them) are deleted, last first, then the chunks with members are applied, first first. So the
// files a member reads, while they change one ConfigMap at a time, list a prefix of the members before or after:
// a group that shrinks loses its last chunk before chunk 0 is cut short, one that grows fills chunk 0 before the
// next appears. A chunk that could not be deleted holds the others back until the next reconcile.
func (w *reconcileWork) applyPeers(ctx context.Context, owner *metav1ac.OwnerReferenceApplyConfiguration) error {
	g := w.group
	chunks := desired.PeersChunks(desired.Replicas(g))
	for chunk := desired.MaxPeersChunks - 1; chunk >= chunks; chunk-- {
		name := desired.PeersChunkName(g.Name, chunk)
		if err := w.removePeersChunk(ctx, name); err != nil {
			return fmt.Errorf("deleting the peer ConfigMap %s: %w", name, err)
		}
	}
	for chunk := range chunks {
		if err := apply(ctx, w, &corev1.ConfigMap{}, desired.PeersConfigMap(g, owner, chunk)); err != nil {
			return fmt.Errorf("applying the peer ConfigMap %s: %w", desired.PeersChunkName(g.Name, chunk), err)
		}
	}
	return nil
}

// removePeersChunk deletes a peer ConfigMap past the group's members: every member mounts each chunk by name, so
// one left behind would list members that are gone. It goes if the group controls it, or if it is an orphan of the
// group (an orphaning delete of a larger group of that name left it: adopting it to delete it comes to the same),
// deleted only as it was read. Someone else's with the group's label is left alone, and the group says so. At
// rest it reads the cache only: a chunk that is not there costs nothing.
func (w *reconcileWork) removePeersChunk(ctx context.Context, name string) error {
	var cm corev1.ConfigMap
	err := w.r.Get(ctx, types.NamespacedName{Namespace: w.group.Namespace, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	switch desired.ClaimOf(&cm, w.group) {
	case desired.Controlled:
		return w.deleteOwned(ctx, &corev1.ConfigMap{}, name)
	case desired.Orphan:
		if err := w.r.canAdopt(ctx, w.group); err != nil {
			return err
		}
		precondition := client.Preconditions{UID: ptr.To(cm.UID), ResourceVersion: ptr.To(cm.ResourceVersion)}
		return client.IgnoreNotFound(w.r.Delete(ctx, &cm, precondition))
	default:
		w.problems = append(w.problems, status.Problem{Reason: status.ReasonNameConflict, Message: desired.NameConflict("ConfigMap", &cm)})
		return nil
	}
}

// peersMountable says new members may mount the peer ConfigMaps by their names: each is the group's, an orphan of
// it the group adopts, or not there (applied in this reconcile, or a chunk past the members, which the volume
// marks optional). A ConfigMap of such a name someone else controls would be mounted into the members by the
// kubelet, which mounts by name: the group's containers would read an object its author may not be allowed to
// read. No member is created then; the group says why.
func (w *reconcileWork) peersMountable(ctx context.Context) (bool, error) {
	for chunk := range desired.MaxPeersChunks {
		key := types.NamespacedName{Namespace: w.group.Namespace, Name: desired.PeersChunkName(w.group.Name, chunk)}
		var cm corev1.ConfigMap
		err := w.r.Get(ctx, key, &cm)
		if apierrors.IsNotFound(err) {
			// The cache holds only objects with the group label: someone else's is looked up past it.
			err = w.r.APIReader.Get(ctx, key, &cm)
		}
		switch {
		case apierrors.IsNotFound(err):
			w.markAbsent("ConfigMap", key.Name)
			continue
		case err != nil:
			return false, fmt.Errorf("reading the peer ConfigMap %s: %w", key.Name, err)
		case desired.ClaimOf(&cm, w.group) != desired.Foreign:
			continue
		}
		w.problems = append(w.problems, status.Problem{Reason: status.ReasonNameConflict, Message: fmt.Sprintf(
			"no member is created while the ConfigMap %s, which members mount, is not the group's", key.Name)})
		return false, nil
	}
	return true, nil
}

// markAbsent remembers that a read past the cache found no child of that kind and name in this reconcile.
func (w *reconcileWork) markAbsent(kind, name string) {
	if w.absent == nil {
		w.absent = map[string]bool{}
	}
	w.absent[kind+"/"+name] = true
}

// childApply is the apply configuration of a child: a Service, a PodDisruptionBudget or a ConfigMap.
type childApply[T any] interface {
	runtime.ApplyConfiguration
	GetKind() *string
	GetName() *string
	WithAnnotations(map[string]string) T
	WithResourceVersion(string) T
}

// atomicFields are the fields of a child the API server treats as one value (a Service's and a budget's
// selector): a re-apply replaces them whole, so they are compared whole.
var atomicFields = []string{"spec.selector"}

// apply server-side applies a child, with ForceOwnership, only over an object the group controls or adopts:
//   - an object the cache does not have (it holds only objects with the group label) is looked up past the cache,
//     so an object of that name someone else made is never created over;
//   - an object of someone else's (desired.ClaimOf) is left as it is: a NameConflict problem names it and who
//     controls it;
//   - an orphan with the group's label, as an orphaning delete of the group leaves it, is adopted once the group
//     is confirmed live (canAdopt), and only as it was judged (its resourceVersion is the apply's precondition);
//   - the group's own child is written only when what peapod applies is no longer there: the annotation holds
//     the hash of the last apply (a spec change, or a field peapod stopped setting) and desired.Holds compares the
//     applied fields (a hand edit). An unchanged group, or a child whose status alone changed, costs no write.
func apply[T childApply[T]](ctx context.Context, w *reconcileWork, existing client.Object, ac T) error {
	kind, key := *ac.GetKind(), types.NamespacedName{Namespace: w.group.Namespace, Name: *ac.GetName()}
	hash := desired.Hash(ac)
	err := w.r.Get(ctx, key, existing)
	if apierrors.IsNotFound(err) {
		if w.absent[kind+"/"+key.Name] {
			return writeChild(ctx, w, ac, hash)
		}
		err = w.r.APIReader.Get(ctx, key, existing)
		if apierrors.IsNotFound(err) {
			return writeChild(ctx, w, ac, hash)
		}
	}
	if err != nil {
		return err
	}
	switch desired.ClaimOf(existing, w.group) {
	case desired.Foreign:
		w.problems = append(w.problems, status.Problem{Reason: status.ReasonNameConflict, Message: desired.NameConflict(kind, existing)})
		return nil
	case desired.Orphan:
		if err := w.r.canAdopt(ctx, w.group); err != nil {
			return fmt.Errorf("adopting %s %s: %w", kind, key.Name, err)
		}
		// Written only over the object judged an orphan: a controller set meanwhile makes the apply a conflict.
		ac.WithResourceVersion(existing.GetResourceVersion())
		if err := writeChild(ctx, w, ac, hash); err != nil {
			return err
		}
		w.r.Recorder.Eventf(w.group, existing, corev1.EventTypeNormal, "Adopted", "Adopt", "Adopted orphaned %s %s", kind, key.Name)
		return nil
	}
	if existing.GetAnnotations()[peapodv1alpha1.AppliedHashAnnotation] == hash && desired.Holds(existing, ac, atomicFields...) {
		return nil
	}
	return writeChild(ctx, w, ac, hash)
}

func writeChild[T childApply[T]](ctx context.Context, w *reconcileWork, ac T, hash string) error {
	ac.WithAnnotations(map[string]string{peapodv1alpha1.AppliedHashAnnotation: hash})
	return w.r.Apply(ctx, ac, client.FieldOwner(peapodv1alpha1.FieldOwner), client.ForceOwnership)
}

// deleteOwned deletes a child the group no longer wants, only if the group controls it: confirmed past the cache
// just before (a delete cannot be undone), and deleted only as it was read (UID and resourceVersion).
func (w *reconcileWork) deleteOwned(ctx context.Context, obj client.Object, name string) error {
	key := types.NamespacedName{Namespace: w.group.Namespace, Name: name}
	err := w.r.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(obj, w.group)) {
		return nil
	}
	if err != nil {
		return err
	}
	err = w.r.APIReader.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(obj, w.group)) {
		return nil
	}
	if err != nil {
		return err
	}
	precondition := client.Preconditions{UID: ptr.To(obj.GetUID()), ResourceVersion: ptr.To(obj.GetResourceVersion())}
	return client.IgnoreNotFound(w.r.Delete(ctx, obj, precondition))
}

// pruneRevisions deletes the group's oldest ControllerRevisions beyond spec.revisionHistoryLimit, of those no
// member Pod runs that are neither the current nor the update revision (pods are all the group's Pods, migrations'
// replacements included). Orphaned revisions with the group's label, as an orphaning delete left them, are
// adopted first, so they are counted and collected with the group. At rest it reads the cache only.
func (w *reconcileWork) pruneRevisions(ctx context.Context, pods []*corev1.Pod) error {
	g := w.group
	var list appsv1.ControllerRevisionList
	if err := w.r.List(ctx, &list, client.InNamespace(g.Namespace), client.MatchingLabels(desired.SelectorLabels(g.Name))); err != nil {
		return fmt.Errorf("listing the revisions of %s: %w", klog.KObj(g), err)
	}
	var revisions, orphans []*appsv1.ControllerRevision
	for i := range list.Items {
		switch rev := &list.Items[i]; desired.ClaimOf(rev, g) {
		case desired.Controlled:
			revisions = append(revisions, rev)
		case desired.Orphan:
			orphans = append(orphans, rev)
		}
	}
	if len(orphans) > 0 {
		if err := w.r.canAdopt(ctx, g); err != nil {
			return err
		}
		for _, rev := range orphans {
			if err := w.r.adopt(ctx, g, rev); err != nil {
				return fmt.Errorf("adopting revision %s: %w", rev.Name, err)
			}
			revisions = append(revisions, rev)
		}
	}
	var errs []error
	live := desired.LiveRevisions(pods, w.currentRevision, w.updateRevision)
	for _, rev := range desired.RevisionsToPrune(revisions, live, desired.RevisionHistoryLimit(g)) {
		precondition := client.Preconditions{UID: ptr.To(rev.UID), ResourceVersion: ptr.To(rev.ResourceVersion)}
		if err := w.r.Delete(ctx, rev, precondition); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("pruning revision %s: %w", rev.Name, err))
		}
	}
	return errors.Join(errs...)
}
