package desired

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestAvoidNodes(t *testing.T) {
	avoid := []corev1.NodeSelectorRequirement{
		{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a"}},
		{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"b"}},
	}
	zone := corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"z1"}}
	cases := map[string]struct {
		affinity *corev1.Affinity
		nodes    []string
		want     *corev1.Affinity
	}{
		"no nodes to avoid leaves the Pod alone": {},
		"a Pod without affinity gets one term": {
			nodes: []string{"b", "a"},
			want: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: avoid}},
			}}},
		},
		"every one of the user's terms excludes the nodes": {
			affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{zone}}, {}},
			}}},
			nodes: []string{"a", "b"},
			want: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{zone}, MatchFields: avoid},
					{MatchFields: avoid},
				},
			}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Affinity: tc.affinity}}
			AvoidNodes(pod, tc.nodes)
			if diff := cmp.Diff(tc.want, pod.Spec.Affinity); diff != "" {
				t.Errorf("affinity mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFollowVolumes(t *testing.T) {
	zone := func(zones ...string) *corev1.NodeSelector {
		return &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: zones}}}}}
	}
	pod := &corev1.Pod{}
	AvoidNodes(pod, []string{"dead"})
	FollowVolumes(pod, []*corev1.NodeSelector{zone("a"), nil})
	terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || len(terms[0].MatchExpressions) != 1 ||
		terms[0].MatchExpressions[0].Values[0] != "a" || terms[0].MatchFields[0].Values[0] != "dead" {
		t.Fatalf("terms %+v, want one: zone a and not node dead", terms)
	}

	two := &corev1.NodeSelector{NodeSelectorTerms: append(zone("a").NodeSelectorTerms, zone("b").NodeSelectorTerms...)}
	FollowVolumes(pod, []*corev1.NodeSelector{two})
	terms = pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 2 || len(terms[1].MatchExpressions) != 2 || len(terms[1].MatchFields) != 1 {
		t.Fatalf("terms %+v, want the pod's term crossed with both of the volume's", terms)
	}
	none := &corev1.Pod{}
	FollowVolumes(none, nil)
	if none.Spec.Affinity != nil {
		t.Errorf("no volumes: affinity %+v, want none", none.Spec.Affinity)
	}
}
