package controllers

import (
	"unique"

	corev1 "k8s.io/api/core/v1"
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

func internUID(uid types.UID) types.UID { return types.UID(intern(string(uid))) }

func internPodConditions(in []corev1.PodCondition) []corev1.PodCondition {
	for i := range in {
		c := &in[i]
		c.Type, c.Status = corev1.PodConditionType(intern(string(c.Type))), corev1.ConditionStatus(intern(string(c.Status)))
		c.Reason, c.Message = intern(c.Reason), intern(c.Message)
	}
	return in
}
