package controllers

import (
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The cache decodes every object's strings afresh, so 40,000 member Pods would hold 40,000 copies of each label
// key, of their namespace, of their group's name, UID and revision, of their tolerations. The slimmed objects
// keep one canonical copy of the strings that repeat across Pods instead (unique.Make: the table holds them
// weakly). Names, UIDs and resourceVersions of the objects themselves are their own and are not interned.

func intern(s string) string { return unique.Make(s).Value() }

func internLabels(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[intern(k)] = intern(v)
	}
	return out
}

func internOwners(in []metav1.OwnerReference) []metav1.OwnerReference {
	if in == nil {
		return nil
	}
	out := make([]metav1.OwnerReference, len(in))
	for i, ref := range in {
		ref.APIVersion, ref.Kind, ref.Name, ref.UID = intern(ref.APIVersion), intern(ref.Kind), intern(ref.Name), internUID(ref.UID)
		out[i] = ref
	}
	return out
}

func internUID(uid types.UID) types.UID { return types.UID(intern(string(uid))) }

func internTolerations(in []corev1.Toleration) []corev1.Toleration {
	if in == nil {
		return nil
	}
	out := make([]corev1.Toleration, len(in))
	for i, t := range in {
		t.Key, t.Value = intern(t.Key), intern(t.Value)
		t.Operator, t.Effect = corev1.TolerationOperator(intern(string(t.Operator))), corev1.TaintEffect(intern(string(t.Effect)))
		out[i] = t
	}
	return out
}

func internPodConditions(in []corev1.PodCondition) []corev1.PodCondition {
	for i := range in {
		c := &in[i]
		c.Type, c.Status = corev1.PodConditionType(intern(string(c.Type))), corev1.ConditionStatus(intern(string(c.Status)))
		c.Reason, c.Message = intern(c.Reason), intern(c.Message)
	}
	return in
}
