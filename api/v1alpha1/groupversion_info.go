// Package v1alpha1 contains the peapod.io/v1alpha1 API: PodGroup, a group of identical members, each one Pod of
// tightly coupled containers, with stable names, Services, peer configuration and node-failure handling.
//
// +kubebuilder:object:generate=true
// +groupName=peapod.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "peapod.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &PodGroup{}, &PodGroupList{}, &PodMigration{}, &PodMigrationList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
