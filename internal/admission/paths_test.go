package admission

import (
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestTemplateField(t *testing.T) {
	g := pt.MakePodGroup("web", "default").Replicas(3).SharedVolume("cache").Claim("data", "1Gi").Obj()
	g.Spec.Env = []corev1.EnvVar{{Name: "GROUP_WIDE", Value: "1"}}
	g.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "1BAD", Value: "2"}}
	g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "own"}}
	pod := desired.MemberPod(g, desired.ShapeOf(&g.Spec), 2)
	index := func(name string) int {
		for i, e := range pod.Spec.Containers[0].Env {
			if e.Name == name {
				return i
			}
		}
		t.Fatalf("the member Pod has no variable %s", name)
		return -1
	}
	for field, want := range map[string]string{
		"":                         "spec.template",
		"metadata.generateName":    "metadata.name",
		"metadata.labels":          "spec.template.metadata.labels",
		"spec.containers[0].image": "spec.template.spec.containers[0].image",
		"spec.containers[0].env[" + itoa(index("1BAD")) + "].name":       "spec.template.spec.containers[0].env[1].name",
		"spec.containers[0].env[" + itoa(index("GROUP_WIDE")) + "].name": "spec.env[0].name",
		// Injected variables are peapod's: named in the Pod's terms.
		"spec.containers[0].env[0].name":        "spec.template.spec.containers[0].env[0].name",
		"spec.volumes[0].name":                  "spec.template.spec.volumes[0].name",
		"spec.volumes[1].emptyDir":              "spec.sharedVolumes[0].emptyDir",
		"spec.volumes[3].persistentVolumeClaim": "spec.volumeClaimTemplates[0].persistentVolumeClaim",
		"spec.volumes[9]":                       "spec.template.spec.volumes[9]",
		"spec.initContainers[4].env[2]":         "spec.template.spec.initContainers[4].env[2]",
	} {
		if got := templateField(&g.Spec, pod)(field); got != want {
			t.Errorf("templateField(%q) = %q, want %q", field, got, want)
		}
	}
}

func TestTargetField(t *testing.T) {
	for name, tc := range map[string]struct {
		target *peapodv1alpha1.MigrationTarget
		field  string
		want   string
	}{
		"a bad selector key":          {&peapodv1alpha1.MigrationTarget{NodeSelector: map[string]peapodv1alpha1.LabelValue{"a b": "c"}}, "spec.nodeSelector", "spec.target.nodeSelector"},
		"a node name no node has":     {&peapodv1alpha1.MigrationTarget{NodeName: "Bad"}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]", "spec.target.nodeName"},
		"the group's template":        {&peapodv1alpha1.MigrationTarget{NodeName: "n"}, "spec.containers[0].image", "spec.group"},
		"the template's own affinity": {nil, "spec.affinity.nodeAffinity", "spec.group"},
	} {
		if got := targetField(tc.target)(tc.field); got != tc.want {
			t.Errorf("%s: targetField(%q) = %q, want %q", name, tc.field, got, tc.want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
