package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodGroupSpec is the desired state of a PodGroup.
type PodGroupSpec struct {
	// replicas is the number of members. Each member is one Pod named <group>-<ordinal>.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// template describes the Pod of every member: its containers share network, localhost and volumes.
	// +required
	Template corev1.PodTemplateSpec `json:"template"`
}

// PodGroupStatus is the observed state of a PodGroup.
type PodGroupStatus struct {
	// observedGeneration is the metadata.generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// replicas is the number of member Pods that exist.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// conditions describe the group's state: Available, Progressing and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PodGroup is a group of identical members; each member is one Pod of tightly coupled containers with a stable
// name, reachable through the group's Services, and replaced on a healthy node when its node fails.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pgroup,categories={peapod,all}
type PodGroup struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the group.
	// +required
	Spec PodGroupSpec `json:"spec"`

	// status is the observed state of the group.
	// +optional
	Status PodGroupStatus `json:"status,omitempty"`
}

// PodGroupList is a list of PodGroups.
//
// +kubebuilder:object:root=true
type PodGroupList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PodGroup `json:"items"`
}
