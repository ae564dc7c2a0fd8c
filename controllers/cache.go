package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// CacheOptions keep the manager's memory proportional to peapod's own objects and small per object: Pods,
// Services and ConfigMaps are cached only when they carry the group label, managedFields are dropped from
// everything, and cached Pods keep only what the reconciler reads (see slimPod).
func CacheOptions() cache.Options {
	hasGroup, err := labels.NewRequirement(peapodv1alpha1.GroupLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	ours := labels.NewSelector().Add(*hasGroup)
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:       {Label: ours, Transform: slimPod},
			&corev1.Service{}:   {Label: ours},
			&corev1.ConfigMap{}: {Label: ours},
		},
	}
}

// slimPod keeps of a cached member Pod its identity, labels, owner, deletion state, node, phase, IPs and
// conditions. The spec is rebuilt from the group whenever a Pod is created, so the cache never needs it; the
// full Pod is a few kilobytes, this is a few hundred bytes. Readers that need more read past the cache.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		if tombstone, isTombstone := obj.(toolscache.DeletedFinalStateUnknown); isTombstone {
			return tombstone, nil
		}
		return nil, fmt.Errorf("caching a %T as a Pod", obj)
	}
	return &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:                       pod.Name,
			Namespace:                  pod.Namespace,
			UID:                        pod.UID,
			ResourceVersion:            pod.ResourceVersion,
			CreationTimestamp:          pod.CreationTimestamp,
			DeletionTimestamp:          pod.DeletionTimestamp,
			DeletionGracePeriodSeconds: pod.DeletionGracePeriodSeconds,
			Labels:                     pod.Labels,
			OwnerReferences:            pod.OwnerReferences,
			Finalizers:                 pod.Finalizers,
		},
		Spec: corev1.PodSpec{NodeName: pod.Spec.NodeName},
		Status: corev1.PodStatus{
			Phase:      pod.Status.Phase,
			Conditions: pod.Status.Conditions,
			PodIP:      pod.Status.PodIP,
			Reason:     pod.Status.Reason,
		},
	}, nil
}
