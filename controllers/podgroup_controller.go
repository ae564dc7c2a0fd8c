// Package controllers holds peapod's reconcilers. They are thin: they read the world, call internal/ for every
// decision, and write the result.
package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// PodGroupReconciler turns a PodGroup into its member Pods, Services and peer configuration.
type PodGroupReconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=peapod.io,resources=podgroups,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=peapod.io,resources=podgroups/status,verbs=get;update;patch

// Reconcile brings one PodGroup closer to its spec.
func (r *PodGroupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var group peapodv1alpha1.PodGroup
	if err := r.Get(ctx, req.NamespacedName, &group); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if group.Status.ObservedGeneration == group.Generation {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(group.DeepCopy())
	group.Status.ObservedGeneration = group.Generation
	if err := r.Status().Patch(ctx, &group, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("writing status of PodGroup %s: %w", req.NamespacedName, err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler with the manager.
func (r *PodGroupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&peapodv1alpha1.PodGroup{}).
		Named("podgroup").
		Complete(r)
}
