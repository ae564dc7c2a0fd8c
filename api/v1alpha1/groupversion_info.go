// Package v1alpha1 contains the peapod.io/v1alpha1 API: PodGroup, a group of identical members, each one Pod of
// tightly coupled containers, with stable names, Services, peer configuration and node-failure handling.
//
// +kubebuilder:object:generate=true
// +groupName=peapod.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "peapod.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
