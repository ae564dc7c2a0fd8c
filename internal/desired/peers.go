package desired

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// The peer list in sizes that always fit: members are listed peapodv1alpha1.PeersPerConfigMap to a ConfigMap
// (chunk 0 is <group>-peers, chunk k <group>-peers-<k>), each mounted as its own file of one projected volume, and
// PEAPOD_PEERS is injected only while it is short.

// MaxPeersChunks is how many peer ConfigMaps a group of the most members has: every member Pod's volume names
// them all, so a member sees a chunk appear when its group grows into it.
const MaxPeersChunks = (peapodv1alpha1.MaxReplicas + peapodv1alpha1.PeersPerConfigMap - 1) / peapodv1alpha1.PeersPerConfigMap

// PeersChunkName names the ConfigMap of chunk k of the peer list: PeersConfigMapName for chunk 0, so groups made
// before the list was split keep theirs, <group>-peers-<k> after it.
func PeersChunkName(group string, chunk int) string {
	if chunk == 0 {
		return PeersConfigMapName(group)
	}
	return PeersConfigMapName(group) + "-" + strconv.Itoa(chunk)
}

// PeersChunkFile names the file chunk k is mounted as under PeersMountPath: peers, peers-1, ... in the order
// a shell's peers* lists them (MaxPeersChunks is below 10).
func PeersChunkFile(chunk int) string {
	if chunk == 0 {
		return peapodv1alpha1.PeersFile
	}
	return peapodv1alpha1.PeersFile + "-" + strconv.Itoa(chunk)
}

// PeersChunks is how many chunks a group of replicas members has: those with members, and chunk 0 always (empty
// when the group is scaled to zero), so members always have their file.
func PeersChunks(replicas int) int {
	return max(1, (replicas+peapodv1alpha1.PeersPerConfigMap-1)/peapodv1alpha1.PeersPerConfigMap)
}

// PeersConfigMap holds chunk k of the live peer list: the stable DNS names of ordinals k*PeersPerConfigMap up to
// the next chunk's first, one a line, under the key PeersFile.
func PeersConfigMap(
	g *peapodv1alpha1.PodGroup, owner *metav1ac.OwnerReferenceApplyConfiguration, chunk int,
) *corev1ac.ConfigMapApplyConfiguration {
	first := chunk * peapodv1alpha1.PeersPerConfigMap
	last := min(first+peapodv1alpha1.PeersPerConfigMap, Replicas(g))
	var data strings.Builder
	for ordinal := first; ordinal < last; ordinal++ {
		data.WriteString(MemberDNS(g.Name, g.Namespace, ordinal))
		data.WriteByte('\n')
	}
	return corev1ac.ConfigMap(PeersChunkName(g.Name, chunk), g.Namespace).
		WithLabels(SelectorLabels(g.Name)).
		WithOwnerReferences(owner).
		WithData(map[string]string{peapodv1alpha1.PeersFile: data.String()})
}

// peersVolume is one projected volume of every possible chunk, chunk k as file PeersChunkFile(k). Chunks past 0
// are optional: a member started at 100 replicas runs before chunk 1 exists and sees it appear (a projected
// volume is updated as a whole) when the group grows past PeersPerConfigMap. It does not depend on the replicas,
// so scaling never changes what a Pod is built with.
func peersVolume(group string) corev1.Volume {
	sources := make([]corev1.VolumeProjection, 0, MaxPeersChunks)
	for chunk := range MaxPeersChunks {
		var optional *bool
		if chunk > 0 {
			optional = new(bool)
			*optional = true
		}
		sources = append(sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: PeersChunkName(group, chunk)},
			Items:                []corev1.KeyToPath{{Key: peapodv1alpha1.PeersFile, Path: PeersChunkFile(chunk)}},
			Optional:             optional,
		}})
	}
	return corev1.Volume{
		Name:         peapodv1alpha1.PeersVolumeName,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}},
	}
}

// peersEnv is the value of PEAPOD_PEERS, the members' names comma-separated, and false when that is longer than
// MaxPeersEnvBytes: then the variable is left out. It stops building at the bound, so making every Pod of a large
// group does not join the whole list each time.
func peersEnv(g *peapodv1alpha1.PodGroup) (string, bool) {
	var list strings.Builder
	for ordinal := range Replicas(g) {
		name := MemberDNS(g.Name, g.Namespace, ordinal)
		if ordinal > 0 {
			name = "," + name
		}
		if list.Len()+len(name) > peapodv1alpha1.MaxPeersEnvBytes {
			return "", false
		}
		list.WriteString(name)
	}
	return list.String(), true
}
