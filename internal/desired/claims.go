package desired

import (
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// ClaimName names member ordinal's claim of a template as a StatefulSet names its: <template>-<group>-<ordinal>.
func ClaimName(template, group string, ordinal int) string {
	return template + "-" + MemberName(group, ordinal)
}

// ClaimRetention is spec.persistentVolumeClaimRetentionPolicy with its defaults (Retain, Retain).
func ClaimRetention(g *peapodv1alpha1.PodGroup) (whenDeleted, whenScaled peapodv1alpha1.ClaimRetentionPolicyType) {
	whenDeleted, whenScaled = peapodv1alpha1.RetainClaims, peapodv1alpha1.RetainClaims
	if p := g.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		if p.WhenDeleted != "" {
			whenDeleted = p.WhenDeleted
		}
		if p.WhenScaled != "" {
			whenScaled = p.WhenScaled
		}
	}
	return whenDeleted, whenScaled
}

// MemberClaims builds member ordinal's claims, one per template: the template's labels and annotations with the
// group's and the ordinal's, and, when the group's claims go with it (whenDeleted: Delete), the group as their
// controller, so the garbage collector deletes them after it. Retained claims have no owner: they outlive the
// group, and a group of the same name created again finds them.
func MemberClaims(g *peapodv1alpha1.PodGroup, ordinal int) []*corev1.PersistentVolumeClaim {
	whenDeleted, _ := ClaimRetention(g)
	claims := make([]*corev1.PersistentVolumeClaim, 0, len(g.Spec.VolumeClaimTemplates))
	for i := range g.Spec.VolumeClaimTemplates {
		t := &g.Spec.VolumeClaimTemplates[i]
		labels := withoutReserved(t.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, SelectorLabels(g.Name))
		labels[peapodv1alpha1.OrdinalLabel] = strconv.Itoa(ordinal)
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        ClaimName(t.Name, g.Name, ordinal),
				Namespace:   g.Namespace,
				Labels:      labels,
				Annotations: withoutReserved(t.Annotations),
			},
			Spec: *t.Spec.DeepCopy(),
		}
		if whenDeleted == peapodv1alpha1.DeleteClaims {
			claim.OwnerReferences = []metav1.OwnerReference{ControllerRef(g)}
		}
		claims = append(claims, claim)
	}
	return claims
}

// claimVolumes are the volumes through which member ordinal's Pods mount its claims, named after the templates.
func claimVolumes(g *peapodv1alpha1.PodGroup, ordinal int) []corev1.Volume {
	volumes := make([]corev1.Volume, 0, len(g.Spec.VolumeClaimTemplates))
	for _, t := range g.Spec.VolumeClaimTemplates {
		volumes = append(volumes, corev1.Volume{
			Name: t.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: ClaimName(t.Name, g.Name, ordinal),
			}},
		})
	}
	return volumes
}

// PodClaims names the claims a Pod mounts.
func PodClaims(pod *corev1.Pod) []string {
	var names []string
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			names = append(names, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return names
}
