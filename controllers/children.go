package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/status"
)

// applyNetworking writes (apply) the headless Service, the ClusterIP Service (or deletes it when the group no
// longer declares ports), the PodDisruptionBudget (when drains migrate) and the peer ConfigMaps, with one field
// owner. A child whose name an object the group does not control already has is left alone: the group is Degraded
// (NameConflict) and its other children still reconcile.
func (w *reconcileWork) applyNetworking(ctx context.Context) error {
	g := w.group
	// Each child is a chain of requests of its own: written at once, a reconcile waits for the longest chain, not
	// for their sum. Each has an owner reference of its own: an apply decodes the answer into its configuration.
	owner := desired.OwnerReference
	return concurrently(
		func() error {
			if _, err := apply(ctx, w, &corev1.Service{}, desired.HeadlessService(g, owner(g))); err != nil {
				return fmt.Errorf("applying the headless Service: %w", err)
			}
			return nil
		},
		func() error {
			svc := desired.ClusterIPService(g, owner(g))
			if svc == nil {
				return w.deleteOwned(ctx, &corev1.Service{}, desired.ServiceName(g.Name))
			}
			if _, err := apply(ctx, w, &corev1.Service{}, svc); err != nil {
				return fmt.Errorf("applying the Service: %w", err)
			}
			return nil
		},
		func() error { return w.applyBudget(ctx, owner(g)) },
		func() error { return w.applyPeers(ctx, owner(g)) },
	)
}

// applyBudget applies the group's PodDisruptionBudget when drains migrate, and deletes it when they do not.
func (w *reconcileWork) applyBudget(ctx context.Context, owner *metav1ac.OwnerReferenceApplyConfiguration) error {
	// The Pods this reconcile created are live too: one Ready before the next reconcile must not let a drain
	// evict a member's only Ready Pod (found by the model test: a cancelled migration's replacement).
	live := w.livePods + len(w.created) + w.replacementsCreated
	pdb := desired.DisruptionBudget(w.group, owner, live, w.migrationsRunning)
	switch {
	case w.migrationsRunning < 0:
		// The group's migrations are not known this time: a budget without them would let a drain evict a
		// Ready member while another moves.
		return nil
	case pdb == nil:
		return w.deleteOwned(ctx, &policyv1.PodDisruptionBudget{}, desired.DisruptionBudgetName(w.group.Name))
	}
	if _, err := apply(ctx, w, &policyv1.PodDisruptionBudget{}, pdb); err != nil {
		return fmt.Errorf("applying the PodDisruptionBudget: %w", err)
	}
	return nil
}

// concurrently runs a reconcile's independent chains of requests at once and joins their errors.
func concurrently(chains ...func() error) error {
	errs := make([]error, len(chains))
	var done sync.WaitGroup
	for i, chain := range chains {
		done.Go(func() { errs[i] = chain() })
	}
	done.Wait()
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
		if w.written["ConfigMap/"+desired.PeersChunkName(g.Name, chunk)] {
			continue
		}
		if _, err := apply(ctx, w, &corev1.ConfigMap{}, desired.PeersConfigMap(g, owner, chunk)); err != nil {
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
		w.addProblems(status.Problem{Reason: status.ReasonNameConflict, Message: desired.NameConflict("ConfigMap", &cm)})
		return nil
	}
}

// peersMountable says new members may mount the peer ConfigMaps by their names: each is the group's, an orphan of
// it the group adopts, or not there (a chunk past the members, which the volume marks optional). A ConfigMap of
// such a name someone else controls would be mounted into the members by the kubelet, which mounts by name: the
// group's containers would read an object its author may not be allowed to read. No member is created then; the
// group says why. A chunk the group writes and the cache does not have is created here, before the members that
// mount it: the API server, not a read that may be stale, says whether the name is someone else's.
func (w *reconcileWork) peersMountable(ctx context.Context) (bool, error) {
	g := w.group
	chunks := desired.PeersChunks(desired.Replicas(g))
	for chunk := range desired.MaxPeersChunks {
		key := types.NamespacedName{Namespace: g.Namespace, Name: desired.PeersChunkName(g.Name, chunk)}
		var cm corev1.ConfigMap
		err := w.r.Get(ctx, key, &cm)
		var claim desired.Claim
		switch {
		case apierrors.IsNotFound(err) && chunk < chunks:
			if claim, err = apply(ctx, w, &cm, desired.PeersConfigMap(g, desired.OwnerReference(g), chunk)); err != nil {
				return false, fmt.Errorf("applying the peer ConfigMap %s: %w", key.Name, err)
			}
			w.markWritten("ConfigMap", key.Name)
		case apierrors.IsNotFound(err):
			// The cache holds only objects with the group label: someone else's is looked up past it.
			if err = w.r.APIReader.Get(ctx, key, &cm); apierrors.IsNotFound(err) {
				continue
			}
			fallthrough
		default:
			if err != nil {
				return false, fmt.Errorf("reading the peer ConfigMap %s: %w", key.Name, err)
			}
			claim = desired.ClaimOf(&cm, g)
		}
		if claim != desired.Foreign {
			continue
		}
		w.addProblems(status.Problem{Reason: status.ReasonNameConflict, Message: fmt.Sprintf(
			"no member is created while the ConfigMap %s, which members mount, is not the group's", key.Name)})
		return false, nil
	}
	return true, nil
}

// addProblems records reasons the group is Degraded; the children's writes, made at once, may each add one.
func (w *reconcileWork) addProblems(problems ...status.Problem) {
	w.problemsMu.Lock()
	defer w.problemsMu.Unlock()
	w.problems = append(w.problems, problems...)
}

// markWritten remembers that this reconcile wrote a child of that kind and name.
func (w *reconcileWork) markWritten(kind, name string) {
	if w.written == nil {
		w.written = map[string]bool{}
	}
	w.written[kind+"/"+name] = true
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

// apply writes a child, only over an object the group controls or adopts, and says whose the object of that name
// is (desired.Claim):
//   - an object the cache does not have (it holds only objects with the group label) is created: the API server
//     refuses the create if an object of that name exists, whoever made it, so one someone else made is never
//     written over, however recent; that one is then read past the cache and judged as below;
//   - an object of someone else's (desired.ClaimOf) is left as it is: a NameConflict problem names it and who
//     controls it;
//   - an orphan with the group's label, as an orphaning delete of the group leaves it, is adopted once the group
//     is confirmed live (canAdopt), and only as it was judged (its resourceVersion is the apply's precondition);
//   - the group's own child is server-side applied, with ForceOwnership, only when what peapod applies is no
//     longer there: the annotation holds the hash of the last write (a spec change, or a field peapod stopped
//     setting) and desired.Holds compares the applied fields (a hand edit). An unchanged group, or a child whose
//     status alone changed, costs no write.
func apply[T childApply[T]](ctx context.Context, w *reconcileWork, existing client.Object, ac T) (desired.Claim, error) {
	kind, key := *ac.GetKind(), types.NamespacedName{Namespace: w.group.Namespace, Name: *ac.GetName()}
	hash := desired.Hash(ac)
	// Whichever way it is written, the child carries the hash of what was written.
	ac.WithAnnotations(map[string]string{peapodv1alpha1.AppliedHashAnnotation: hash})
	err := w.r.Get(ctx, key, existing)
	if apierrors.IsNotFound(err) {
		created, createErr := createChild(ctx, w, existing, ac)
		if created || createErr != nil {
			return desired.Controlled, createErr
		}
		if err = w.r.APIReader.Get(ctx, key, existing); apierrors.IsNotFound(err) {
			return desired.Controlled, fmt.Errorf("%s %s was deleted while it was being created: %w", kind, key.Name, err)
		}
	}
	if err != nil {
		return desired.Controlled, err
	}
	switch claim := desired.ClaimOf(existing, w.group); claim {
	case desired.Foreign:
		w.addProblems(status.Problem{Reason: status.ReasonNameConflict, Message: desired.NameConflict(kind, existing)})
		return claim, nil
	case desired.Orphan:
		if err := w.r.canAdopt(ctx, w.group); err != nil {
			return claim, fmt.Errorf("adopting %s %s: %w", kind, key.Name, err)
		}
		// Written only over the object judged an orphan: a controller set meanwhile makes the apply a conflict.
		resourceVersion, err := w.ownCreatedFields(ctx, existing, true)
		if err != nil {
			return claim, fmt.Errorf("adopting %s %s: %w", kind, key.Name, err)
		}
		ac.WithResourceVersion(resourceVersion)
		if err := writeChild(ctx, w, ac); err != nil {
			return claim, err
		}
		w.r.Recorder.Eventf(w.group, existing, corev1.EventTypeNormal, "Adopted", "Adopt", "Adopted orphaned %s %s", kind, key.Name)
		return claim, nil
	}
	if existing.GetAnnotations()[peapodv1alpha1.AppliedHashAnnotation] == hash && desired.Holds(existing, ac, atomicFields...) {
		return desired.Controlled, nil
	}
	if _, err := w.ownCreatedFields(ctx, existing, false); err != nil {
		return desired.Controlled, err
	}
	return desired.Controlled, writeChild(ctx, w, ac)
}

// createChild creates a child from its apply configuration, with peapod as the field manager. False when an
// object of that name exists.
func createChild[T childApply[T]](ctx context.Context, w *reconcileWork, empty client.Object, ac T) (bool, error) {
	data, err := json.Marshal(ac)
	if err != nil {
		return false, err
	}
	// A copy: the object read past the cache after a refusal must not be decoded over the desired one.
	obj := empty.DeepCopyObject().(client.Object)
	if err := json.Unmarshal(data, obj); err != nil {
		return false, err
	}
	err = w.r.Create(ctx, obj, client.FieldOwner(peapodv1alpha1.FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	return err == nil, err
}

// ownCreatedFields hands the fields of a child peapod created (an Update entry of its field manager) to peapod's
// Apply entry, before the child is applied again: otherwise a field the apply no longer sets (a port the group
// dropped) stays, owned by the create, and the child keeps what the group no longer declares. Read past the
// cache, which strips managedFields, and patched only as read (the patch replaces the resourceVersion it read);
// asRead also refuses a child changed since the caller judged it. It returns the child's resourceVersion now.
func (w *reconcileWork) ownCreatedFields(ctx context.Context, judged client.Object, asRead bool) (string, error) {
	gvk, err := apiutil.GVKForObject(judged, w.r.Scheme())
	if err != nil {
		return "", err
	}
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(gvk)
	if err := w.r.APIReader.Get(ctx, client.ObjectKeyFromObject(judged), live); err != nil {
		return "", err
	}
	if live.UID != judged.GetUID() || (asRead && live.ResourceVersion != judged.GetResourceVersion()) {
		return "", fmt.Errorf("%s %s changed since it was read; judged again in the next reconcile", gvk.Kind, live.Name)
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, sets.New(peapodv1alpha1.FieldOwner), peapodv1alpha1.FieldOwner)
	if err != nil || patch == nil {
		return live.ResourceVersion, err
	}
	if err := w.r.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return "", err
	}
	return live.ResourceVersion, nil
}

func writeChild[T childApply[T]](ctx context.Context, w *reconcileWork, ac T) error {
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
