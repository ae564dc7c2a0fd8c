package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// A shard is a manager started with a namespace selector: it acts on the groups of the namespaces whose labels
// match, and on no other, so several managers (each with its own leader Lease) divide a cluster's groups between
// them. The selectors of a cluster's shards must not overlap: a namespace two of them match is reconciled by both.

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// ownsNamespace says whether this manager acts on the groups of a namespace: any namespace without a selector;
// with one, a namespace its cache holds whose labels match. A namespace not in the cache yet is not its own: its
// creation event enqueues its groups (groupsOfNamespace) once it is.
func (r *PodGroupReconciler) ownsNamespace(ctx context.Context, name string) (bool, error) {
	if r.NamespaceSelector == nil {
		return true, nil
	}
	var ns corev1.Namespace
	if err := r.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return r.NamespaceSelector.Matches(labels.Set(ns.Labels)), nil
}

// groupsOfNamespace enqueues every group of a namespace that appeared or was relabelled: it may have become this
// shard's, or stopped being it (Reconcile then leaves the group alone).
func (r *PodGroupReconciler) groupsOfNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var groups peapodv1alpha1.PodGroupList
	if err := r.List(ctx, &groups, client.InNamespace(o.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(groups.Items))
	for i := range groups.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&groups.Items[i])})
	}
	return out
}

// namespaceLabelsChanged passes a namespace's creation and the updates that change its labels, the only part of
// it a shard's ownership reads.
var namespaceLabelsChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !labels.Equals(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	},
	DeleteFunc: func(event.DeleteEvent) bool { return false },
}

// slimNamespace keeps of a Namespace its metadata: ownership reads its labels alone.
func slimNamespace(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return passTombstone(obj, "Namespace")
	}
	return &corev1.Namespace{ObjectMeta: slimMeta(ns)}, nil
}
