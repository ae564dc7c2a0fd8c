package desired

import (
	"maps"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// MemberPod builds the Pod of member ordinal from a revision's shape. The caller sets the owner reference.
func MemberPod(g *peapodv1alpha1.PodGroup, shape Shape, ordinal int) *corev1.Pod {
	revision := shape.Revision()
	tmpl := shape.Template.DeepCopy()
	name := MemberName(g.Name, ordinal)

	labels := withoutReserved(tmpl.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, SelectorLabels(g.Name))
	labels[peapodv1alpha1.OrdinalLabel] = strconv.Itoa(ordinal)
	labels[peapodv1alpha1.RevisionLabel] = revision

	spec := tmpl.Spec
	spec.Hostname = name
	spec.Subdomain = HeadlessServiceName(g.Name)
	spec.Volumes = append(spec.Volumes, memberVolumes(g.Name, shape.SharedVolumes)...)
	spec.Volumes = append(spec.Volumes, claimVolumes(g, ordinal)...)
	env := injectedEnv(g, ordinal)
	mounts := memberMounts(shape.SharedVolumes)
	for i := range spec.InitContainers {
		wire(&spec.InitContainers[i], env, shape.Env, mounts)
	}
	for i := range spec.Containers {
		wire(&spec.Containers[i], env, shape.Env, mounts)
	}
	place(&spec, g.Name, shape.Placement)

	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   g.Namespace,
			Labels:      labels,
			Annotations: withoutReserved(tmpl.Annotations),
		},
		Spec: spec,
	}
}

// withoutReserved copies a template's labels or annotations without the keys under peapod.io/: those are peapod's
// to set (a template's peapod.io/migration would make every member look like a migration's replacement, its
// peapod.io/ordinal would give a member another's identity). The admission policy refuses such labels; a group
// created without it must not get them either.
func withoutReserved(in map[string]string) map[string]string {
	out := maps.Clone(in)
	maps.DeleteFunc(out, func(key, _ string) bool { return strings.HasPrefix(key, peapodv1alpha1.ReservedLabelPrefix) })
	return out
}

func wire(c *corev1.Container, injected, groupEnv []corev1.EnvVar, mounts []corev1.VolumeMount) {
	c.Env = mergeEnv(injected, groupEnv, c.Env)
	c.VolumeMounts = append(c.VolumeMounts, mounts...)
}

func memberVolumes(group string, shared []peapodv1alpha1.SharedVolume) []corev1.Volume {
	volumes := make([]corev1.Volume, 0, len(shared)+1)
	for _, sv := range shared {
		volumes = append(volumes, corev1.Volume{
			Name:         sv.Name,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: sv.Medium, SizeLimit: sv.SizeLimit}},
		})
	}
	return append(volumes, peersVolume(group))
}

func memberMounts(shared []peapodv1alpha1.SharedVolume) []corev1.VolumeMount {
	mounts := make([]corev1.VolumeMount, 0, len(shared)+1)
	for _, sv := range shared {
		mounts = append(mounts, corev1.VolumeMount{Name: sv.Name, MountPath: peapodv1alpha1.SharedVolumeRoot + "/" + sv.Name})
	}
	return append(mounts, corev1.VolumeMount{
		Name: peapodv1alpha1.PeersVolumeName, MountPath: peapodv1alpha1.PeersMountPath, ReadOnly: true,
	})
}

// RespondToEvictions makes peapod the Pod's first eviction responder (spec.evictionResponders, the EvictionRequest
// API): an Eviction of the Pod is handed to peapod before the imperative evictor, and peapod moves the member. Only
// where the cluster serves the API, and not part of the revision: a cluster that starts serving it changes no
// member. A responder the template names already keeps its entry, and peapod adds its own beside it.
func RespondToEvictions(pod *corev1.Pod) {
	for _, r := range pod.Spec.EvictionResponders {
		if r.Name == peapodv1alpha1.EvictionResponder {
			return
		}
	}
	priority := int32(peapodv1alpha1.EvictionResponderPriority)
	pod.Spec.EvictionResponders = append(pod.Spec.EvictionResponders, corev1.EvictionResponder{
		Name: peapodv1alpha1.EvictionResponder, Priority: &priority,
	})
}
