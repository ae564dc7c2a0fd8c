package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VolumeClaimTemplate is a PersistentVolumeClaim every member gets its own of, as with a StatefulSet's
// volumeClaimTemplates: member <group>-<ordinal> gets the claim <name>-<group>-<ordinal>, created before its first
// Pod, and every Pod that carries the member's identity (the Pod recreated after a failover, a migration's
// replacement, a member rolled to a new template) mounts that same claim as the volume <name>. Containers mount
// it by that name in their volumeMounts.
type VolumeClaimTemplate struct {
	// metadata holds the name, which names the volume and is the claim's name prefix, and labels and
	// annotations copied to every member's claim.
	// +required
	metav1.ObjectMeta `json:"metadata"`

	// spec is the claim's spec: access modes, storage class, the storage request.
	// +required
	Spec corev1.PersistentVolumeClaimSpec `json:"spec"`
}

// ClaimRetentionPolicyType says whether a member's claims outlive it.
// +kubebuilder:validation:Enum=Retain;Delete
type ClaimRetentionPolicyType string

const (
	// RetainClaims keeps the claims: a member created again under the same ordinal gets its data back.
	RetainClaims ClaimRetentionPolicyType = "Retain"
	// DeleteClaims deletes the claims with the member (their PersistentVolumes go as their reclaim policy says).
	DeleteClaims ClaimRetentionPolicyType = "Delete"
)

// ClaimRetentionPolicy says what becomes of the members' claims, as a StatefulSet's
// persistentVolumeClaimRetentionPolicy does.
type ClaimRetentionPolicy struct {
	// whenDeleted is what happens to the claims when the group is deleted: Retain (the default) keeps them,
	// Delete gives them to the garbage collector with the group (an owner reference to the group).
	// +kubebuilder:default=Retain
	// +optional
	WhenDeleted ClaimRetentionPolicyType `json:"whenDeleted,omitempty"`

	// whenScaled is what happens to the claims of the members a scale down removes: Retain (the default) keeps
	// them for a scale up to find, Delete deletes them once the member's Pod is gone.
	// +kubebuilder:default=Retain
	// +optional
	WhenScaled ClaimRetentionPolicyType `json:"whenScaled,omitempty"`
}
