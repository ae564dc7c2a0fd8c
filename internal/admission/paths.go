package admission

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

var (
	containerEnv = regexp.MustCompile(`^spec\.(containers|initContainers)\[(\d+)\]\.env\[(\d+)\](.*)$`)
	podVolume    = regexp.MustCompile(`^spec\.volumes\[(\d+)\](.*)$`)
)

// templateField maps the path of a field of a group's member Pod to the field of the group it comes from: the
// template's own fields sit under spec.template, a variable is found by name where the Pod got it (the
// container's env, or the group's spec.env, since the injected ones come first and shift the indices), and
// a volume peapod adds is named by the shared volume or claim template it comes from.
func templateField(spec *peapodv1alpha1.PodGroupSpec, pod *corev1.Pod) func(string) string {
	return func(field string) string {
		switch {
		case field == "":
			return "spec.template"
		case isName(field):
			return "metadata.name"
		case strings.HasPrefix(field, "metadata."):
			return "spec.template." + field
		}
		if m := containerEnv.FindStringSubmatch(field); m != nil {
			if f, ok := envField(spec, pod, m[1], atoi(m[2]), atoi(m[3])); ok {
				return f + m[4]
			}
		}
		if m := podVolume.FindStringSubmatch(field); m != nil {
			if f, ok := volumeField(spec, atoi(m[1])); ok {
				return f + m[2]
			}
		}
		return "spec.template." + field
	}
}

// envField finds where the Pod's variable index of a container came from; the last of a name wins, as it does in
// the Pod.
func envField(spec *peapodv1alpha1.PodGroupSpec, pod *corev1.Pod, list string, container, index int) (string, bool) {
	podContainers, tmplContainers := pod.Spec.Containers, spec.Template.Spec.Containers
	if list == "initContainers" {
		podContainers, tmplContainers = pod.Spec.InitContainers, spec.Template.Spec.InitContainers
	}
	if container >= len(podContainers) || index >= len(podContainers[container].Env) || container >= len(tmplContainers) {
		return "", false
	}
	name := podContainers[container].Env[index].Name
	if j := lastNamed(tmplContainers[container].Env, name); j >= 0 {
		return fmt.Sprintf("spec.template.spec.%s[%d].env[%d]", list, container, j), true
	}
	if j := lastNamed(spec.Env, name); j >= 0 {
		return fmt.Sprintf("spec.env[%d]", j), true
	}
	return "", false
}

func lastNamed(env []corev1.EnvVar, name string) int {
	for j := len(env) - 1; j >= 0; j-- {
		if env[j].Name == name {
			return j
		}
	}
	return -1
}

// volumeField names the group field a member Pod's volume index comes from: the template's volumes come first,
// then a volume a shared volume, the peer list's, and one a claim template.
func volumeField(spec *peapodv1alpha1.PodGroupSpec, index int) (string, bool) {
	index -= len(spec.Template.Spec.Volumes)
	switch {
	case index < 0:
		return "", false
	case index < len(spec.SharedVolumes):
		return fmt.Sprintf("spec.sharedVolumes[%d]", index), true
	case index == len(spec.SharedVolumes):
		return "", false
	case index-len(spec.SharedVolumes)-1 < len(spec.VolumeClaimTemplates):
		return fmt.Sprintf("spec.volumeClaimTemplates[%d]", index-len(spec.SharedVolumes)-1), true
	}
	return "", false
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// targetField maps the path of a field of a migration's replacement Pod to the migration's: the node selector
// and the node it is sent to are the migration's target; anything else comes from the group's template.
func targetField(target *peapodv1alpha1.MigrationTarget) func(string) string {
	return func(field string) string {
		switch {
		case target == nil:
		case len(target.NodeSelector) > 0 && strings.HasPrefix(field, "spec.nodeSelector"):
			return "spec.target.nodeSelector" + strings.TrimPrefix(field, "spec.nodeSelector")
		case target.NodeName != "" && strings.HasPrefix(field, "spec.affinity.nodeAffinity"):
			return "spec.target.nodeName"
		}
		return "spec.group"
	}
}

// claimTemplateField maps the path of a field of a member's claim to the claim template it comes from.
func claimTemplateField(template int) func(string) string {
	return func(field string) string {
		prefix := fmt.Sprintf("spec.volumeClaimTemplates[%d]", template)
		if field == "" || isName(field) {
			return prefix + ".metadata.name"
		}
		return prefix + "." + field
	}
}

// isName tells the probe's own name fields: the probe is created by generateName.
func isName(field string) bool { return field == "metadata.name" || field == "metadata.generateName" }
