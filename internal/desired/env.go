package desired

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// injectedEnv is what every container of a member is told about itself and its peers.
func injectedEnv(g *peapodv1alpha1.PodGroup, ordinal int) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: peapodv1alpha1.EnvGroup, Value: g.Name},
		{Name: peapodv1alpha1.EnvOrdinal, Value: strconv.Itoa(ordinal)},
		{Name: peapodv1alpha1.EnvReplicas, Value: strconv.Itoa(Replicas(g))},
		{Name: peapodv1alpha1.EnvService, Value: ServiceDNS(g.Name, g.Namespace)},
		{Name: peapodv1alpha1.EnvMemberDNS, Value: MemberDNS(g.Name, g.Namespace, ordinal)},
	}
	// Only while it is short: above the bound the members read the peer files (peers.go).
	if peers, short := peersEnv(g); short {
		env = append(env, corev1.EnvVar{Name: peapodv1alpha1.EnvPeers, Value: peers})
	}
	return append(env,
		fieldRef(peapodv1alpha1.EnvPodName, "metadata.name"),
		fieldRef(peapodv1alpha1.EnvNamespace, "metadata.namespace"),
		fieldRef(peapodv1alpha1.EnvPodIP, "status.podIP"),
		fieldRef(peapodv1alpha1.EnvNodeName, "spec.nodeName"),
		fieldRef(peapodv1alpha1.EnvHostIP, "status.hostIP"),
	)
}

func fieldRef(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// mergeEnv layers env lists, later layers winning on a name. A variable keeps the position of its winning layer,
// so the container's own variables come last and can refer to the injected ones as $(PEAPOD_GROUP).
func mergeEnv(layers ...[]corev1.EnvVar) []corev1.EnvVar {
	winner := map[string]int{}
	for i, layer := range layers {
		for _, e := range layer {
			winner[e.Name] = i
		}
	}
	var merged []corev1.EnvVar
	for i, layer := range layers {
		for _, e := range layer {
			if winner[e.Name] == i {
				merged = append(merged, e)
			}
		}
	}
	return merged
}
