package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// CacheOptions keep the manager's memory proportional to peapod's own objects: Pods, Services and ConfigMaps
// are cached only when they carry the group label, and managedFields (a fifth of a cached Pod) are dropped.
func CacheOptions() cache.Options {
	hasGroup, err := labels.NewRequirement(peapodv1alpha1.GroupLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	ours := cache.ByObject{Label: labels.NewSelector().Add(*hasGroup)}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:       ours,
			&corev1.Service{}:   ours,
			&corev1.ConfigMap{}: ours,
		},
	}
}
