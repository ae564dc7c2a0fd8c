package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// applyNetworking server-side applies the headless Service, the ClusterIP Service (or deletes it when the group
// no longer declares ports), the PodDisruptionBudget (when drains migrate) and the peer ConfigMap, with one field
// owner.
func (w *reconcileWork) applyNetworking(ctx context.Context) error {
	g := w.group
	owner := desired.OwnerReference(g)
	var errs []error
	headless := desired.HeadlessService(g, owner)
	if err := apply(ctx, w, &corev1.Service{}, *headless.Name, headless, headless.WithAnnotations); err != nil {
		errs = append(errs, fmt.Errorf("applying the headless Service: %w", err))
	}
	if svc := desired.ClusterIPService(g, owner); svc != nil {
		if err := apply(ctx, w, &corev1.Service{}, *svc.Name, svc, svc.WithAnnotations); err != nil {
			errs = append(errs, fmt.Errorf("applying the Service: %w", err))
		}
	} else if err := w.deleteOwned(ctx, &corev1.Service{}, desired.ServiceName(g.Name)); err != nil {
		errs = append(errs, err)
	}
	if pdb := desired.DisruptionBudget(g, owner, w.migrationsRunning); w.migrationsRunning < 0 {
		// The group's migrations are not known this time: a budget without them would let a drain evict a
		// Ready member while another moves.
	} else if pdb != nil {
		if err := apply(ctx, w, &policyv1.PodDisruptionBudget{}, *pdb.Name, pdb, pdb.WithAnnotations); err != nil {
			errs = append(errs, fmt.Errorf("applying the PodDisruptionBudget: %w", err))
		}
	} else if err := w.deleteOwned(ctx, &policyv1.PodDisruptionBudget{}, desired.DisruptionBudgetName(g.Name)); err != nil {
		errs = append(errs, err)
	}
	peers := desired.PeersConfigMap(g, owner)
	if err := apply(ctx, w, &corev1.ConfigMap{}, *peers.Name, peers, peers.WithAnnotations); err != nil {
		errs = append(errs, fmt.Errorf("applying the peer ConfigMap: %w", err))
	}
	return errors.Join(errs...)
}

// apply server-side applies a child unless the cached child already carries the hash of the same apply
// configuration: a group whose spec did not change costs no API write.
func apply[T runtime.ApplyConfiguration](ctx context.Context, w *reconcileWork, existing client.Object, name string, ac T,
	annotate func(map[string]string) T) error {
	hash := desired.Hash(ac)
	err := w.r.Get(ctx, types.NamespacedName{Namespace: w.group.Namespace, Name: name}, existing)
	if err == nil && existing.GetAnnotations()[peapodv1alpha1.AppliedHashAnnotation] == hash {
		return nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	annotate(map[string]string{peapodv1alpha1.AppliedHashAnnotation: hash})
	return w.r.Apply(ctx, ac, client.FieldOwner(peapodv1alpha1.FieldOwner), client.ForceOwnership)
}

func (w *reconcileWork) deleteOwned(ctx context.Context, obj client.Object, name string) error {
	err := w.r.Get(ctx, types.NamespacedName{Namespace: w.group.Namespace, Name: name}, obj)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(obj, w.group)) {
		return nil
	}
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(w.r.Delete(ctx, obj, client.Preconditions{UID: ptr.To(obj.GetUID())}))
}
